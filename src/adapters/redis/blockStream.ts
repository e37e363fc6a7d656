import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { StreamError, StreamErrorCode } from './errors.js';
import { type BlockStreamOptions, defaultBlockStreamOptions } from './options.js';

/**
 * Fenced append. KEYS = [epochKey, stream]; ARGV = [epoch, number, hash, maxLen, payload, timestamp].
 * Returns {status, detail}: appended | exists | STALE_EPOCH <fence> | HEIGHT_TAKEN <hash> | OUT_OF_ORDER <top id>.
 *
 * Epochs and heights are compared as decimal strings (length, then bytes): Lua numbers are
 * doubles and would call 2^53 and 2^53+1 equal. The epoch key is raised to the caller's epoch, so
 * the Stream is fenced even when the lease lives elsewhere (file, postgres, etcd); with the redis
 * lease the key is its INCR counter and is never below a live holder's epoch anyway.
 */
const APPEND = `
local function cmp(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end
local fence = redis.call('GET', KEYS[1])
if fence and cmp(fence, ARGV[1]) > 0 then return {'STALE_EPOCH', fence} end
local top = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
if top and cmp(string.match(top[1], '^%d+'), ARGV[2]) >= 0 then
  local entry = redis.call('XRANGE', KEYS[2], ARGV[2], ARGV[2], 'COUNT', 1)[1]
  if not entry then return {'OUT_OF_ORDER', top[1]} end
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'block_hash' then
      if fields[i + 1] == ARGV[3] then return {'exists', ''} end
      return {'HEIGHT_TAKEN', fields[i + 1]}
    end
  end
  return {'HEIGHT_TAKEN', ''}
end
if not fence or cmp(fence, ARGV[1]) < 0 then redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], ARGV[2] .. '-0',
  'block_number', ARGV[2], 'block_hash', ARGV[3], 'payload', ARGV[5], 'timestamp', ARGV[6], 'epoch', ARGV[1])
return {'appended', ''}`;

interface StreamScripts {
  batonStreamAppend(
    epochKey: string,
    stream: string,
    epoch: string,
    number: string,
    hash: string,
    maxLen: number,
    payload: Buffer,
    timestamp: string,
  ): Promise<[status: string, detail: string]>;
}

/** What the Publisher appends: the committed block's identity and its encoded bytes. */
export interface StreamAppend {
  number: bigint;
  /** 0x-prefixed hex; stored lower-case so comparisons agree with PostgreSQL. */
  hash: string;
  timestamp: bigint;
  /** The msgpack-encoded payload, the same bytes as in PostgreSQL and on the feed. */
  payload: Uint8Array;
}

/** One Stream entry, decoded. */
export interface StreamBlock extends StreamAppend {
  epoch: bigint;
}

/**
 * The Redis Stream of committed blocks (`<prefix>:blocks`). Entry IDs are `<blockNumber>-0`, so
 * the Stream cannot hold two entries for one height, and every append is checked against the
 * epoch fence in the same Lua script (DESIGN §4).
 */
export class BlockStream {
  private readonly redis: Redis & StreamScripts;
  private readonly stream: string;
  private readonly epochKey: string;
  private readonly maxLen: number;
  private readonly logger: Logger;

  constructor(opts: BlockStreamOptions, modules: { redis: Redis; logger: Logger }) {
    const prefix = opts.prefix ?? defaultBlockStreamOptions.prefix;
    this.stream = opts.stream ?? `${prefix}:blocks`;
    this.epochKey = `${prefix}:epoch`;
    this.maxLen = opts.maxLen ?? defaultBlockStreamOptions.maxLen;
    this.logger = modules.logger;
    modules.redis.defineCommand('batonStreamAppend', { numberOfKeys: 2, lua: APPEND });
    this.redis = modules.redis as Redis & StreamScripts;
  }

  /**
   * Appends a committed block. `appended: false` means the same block was already there (a retry
   * or a re-publish). Throws STALE_EPOCH, HEIGHT_TAKEN or OUT_OF_ORDER; the Stream is unchanged then.
   */
  async append(block: StreamAppend, epoch: bigint): Promise<{ appended: boolean }> {
    // Stream ID 0-0 is reserved by Redis; the genesis block is never published.
    if (block.number < 1n) throw new RangeError(`block number must be ≥ 1, got ${block.number}`);
    const hash = block.hash.toLowerCase();
    const payload = Buffer.from(block.payload.buffer, block.payload.byteOffset, block.payload.byteLength);
    const [status, detail] = await this.redis.batonStreamAppend(
      this.epochKey,
      this.stream,
      epoch.toString(),
      block.number.toString(),
      hash,
      this.maxLen,
      payload,
      block.timestamp.toString(),
    );
    const meta = { number: block.number.toString(), hash, epoch: epoch.toString() };
    switch (status) {
      case 'appended':
        return { appended: true };
      case 'exists':
        this.logger.debug(meta, 'Block already in the Stream');
        return { appended: false };
      case StreamErrorCode.STALE_EPOCH:
        throw new StreamError(status, `epoch ${epoch} is stale: the Stream is fenced at ${detail}`, { ...meta, fenceEpoch: detail });
      case StreamErrorCode.HEIGHT_TAKEN:
        throw new StreamError(status, `block ${block.number} is already in the Stream as ${detail}`, { ...meta, streamHash: detail });
      case StreamErrorCode.OUT_OF_ORDER:
        throw new StreamError(status, `block ${block.number} is below the Stream's last entry ${detail}`, { ...meta, lastId: detail });
      default:
        throw new Error(`unexpected reply from the Stream append script: ${status}`);
    }
  }

  /** The newest entry, or null if the Stream is empty: a new leader re-publishes committed blocks above it. */
  async lastEntry(): Promise<StreamBlock | null> {
    const [entry] = await this.redis.xrevrangeBuffer(this.stream, '+', '-', 'COUNT', 1);
    return entry ? decode(entry[1]) : null;
  }

  /** Entries with fromNumber ≤ number ≤ toNumber, ascending. The caller bounds the span. */
  async range(fromNumber: bigint, toNumber: bigint): Promise<StreamBlock[]> {
    const entries = await this.redis.xrangeBuffer(this.stream, fromNumber.toString(), toNumber.toString());
    return entries.map(([, fields]) => decode(fields));
  }
}

function decode(fields: Buffer[]): StreamBlock {
  const f = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set((fields[i] as Buffer).toString(), fields[i + 1] as Buffer);
  const field = (name: string): Buffer => {
    const v = f.get(name);
    if (!v) throw new Error(`Stream entry without ${name}`);
    return v;
  };
  return {
    number: BigInt(field('block_number').toString()),
    hash: field('block_hash').toString(),
    timestamp: BigInt(field('timestamp').toString()),
    epoch: BigInt(field('epoch').toString()),
    payload: field('payload'),
  };
}
