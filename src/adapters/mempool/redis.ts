import type { Redis } from 'ioredis';
import type { MempoolSizes } from '../../types/mempool.js';
import { MempoolError, MempoolErrorCode } from './errors.js';
import type { AddResult, ConfirmBlock, ConfirmResult, DropResult, InflightTx, Mempool, MempoolTx, QueueResult, TxSender, TxStatus } from './interface.js';
import { defaultMempoolOptions, type MempoolOptions } from './options.js';
import { ADD, CONFIRM, DROP, EXPIRE_QUEUED, HELD_RAW, INFLIGHT, mempoolKeys, QUEUE, SENDER_NONCES, STATUS, TAKE_BATCH } from './scripts.js';

/** Every script takes all mempool keys, then its ARGV (see `scripts.ts` for each one's arguments). */
type ScriptArgs = Array<string | number>;

interface MempoolScripts {
  batonMempoolAdd(...args: ScriptArgs): Promise<[result: string, state: string, detail: string]>;
  batonMempoolTake(...args: ScriptArgs): Promise<[result: string, detail: string[] | string]>;
  batonMempoolInflight(...args: ScriptArgs): Promise<string[]>;
  batonMempoolConfirm(...args: ScriptArgs): Promise<[status: string, lastConfirmed: string, finalized: number, requeued: string[]]>;
  batonMempoolDrop(...args: ScriptArgs): Promise<DropResult>;
  batonMempoolQueue(...args: ScriptArgs): Promise<QueueResult>;
  batonMempoolExpireQueued(...args: ScriptArgs): Promise<number>;
  batonMempoolStatus(...args: ScriptArgs): Promise<[state: string, detail: string]>;
  batonMempoolSenderNonces(...args: ScriptArgs): Promise<string[]>;
  batonMempoolHeldRaw(...args: ScriptArgs): Promise<string | null>;
}

/**
 * The shared mempool in Redis (`<prefix>:mempool:*`). Every operation is one Lua script (see
 * `scripts.ts`); this class only shapes arguments and replies.
 */
export class RedisMempool implements Mempool {
  private readonly redis: Redis & MempoolScripts;
  private readonly key: ReturnType<typeof mempoolKeys>;
  /** Every key, in KEYS order. */
  private readonly keys: string[];
  private readonly opts: Required<Omit<MempoolOptions, 'prefix'>>;

  constructor(opts: MempoolOptions, modules: { redis: Redis }) {
    this.key = mempoolKeys(opts.prefix ?? defaultMempoolOptions.prefix);
    this.keys = Object.values(this.key);
    this.opts = {
      maxPending: opts.maxPending ?? defaultMempoolOptions.maxPending,
      maxNonConfirmations: opts.maxNonConfirmations ?? defaultMempoolOptions.maxNonConfirmations,
      maxFinalized: opts.maxFinalized ?? defaultMempoolOptions.maxFinalized,
      maxPerSender: opts.maxPerSender ?? defaultMempoolOptions.maxPerSender,
      maxQueued: opts.maxQueued ?? defaultMempoolOptions.maxQueued,
      lifetimeMs: opts.lifetimeMs ?? defaultMempoolOptions.lifetimeMs,
    };
    for (const [name, value] of Object.entries(this.opts)) {
      if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
    const redis = modules.redis;
    redis.defineCommand('batonMempoolAdd', { numberOfKeys: this.keys.length, lua: ADD });
    redis.defineCommand('batonMempoolTake', { numberOfKeys: this.keys.length, lua: TAKE_BATCH });
    redis.defineCommand('batonMempoolInflight', { numberOfKeys: this.keys.length, lua: INFLIGHT, readOnly: true });
    redis.defineCommand('batonMempoolConfirm', { numberOfKeys: this.keys.length, lua: CONFIRM });
    redis.defineCommand('batonMempoolDrop', { numberOfKeys: this.keys.length, lua: DROP });
    redis.defineCommand('batonMempoolQueue', { numberOfKeys: this.keys.length, lua: QUEUE });
    redis.defineCommand('batonMempoolExpireQueued', { numberOfKeys: this.keys.length, lua: EXPIRE_QUEUED });
    redis.defineCommand('batonMempoolStatus', { numberOfKeys: this.keys.length, lua: STATUS, readOnly: true });
    redis.defineCommand('batonMempoolSenderNonces', { numberOfKeys: this.keys.length, lua: SENDER_NONCES, readOnly: true });
    redis.defineCommand('batonMempoolHeldRaw', { numberOfKeys: this.keys.length, lua: HELD_RAW, readOnly: true });
    this.redis = redis as Redis & MempoolScripts;
  }

  async add(tx: MempoolTx, sender?: TxSender): Promise<AddResult> {
    const hash = tx.hash.toLowerCase();
    const member = sender ? senderMember(sender, hash) : '';
    const { maxPending, maxPerSender } = this.opts;
    const [result, state, detail] = await this.redis.batonMempoolAdd(...this.keys, hash, tx.raw.toLowerCase(), maxPending, member, maxPerSender);
    switch (result) {
      case 'added':
        return { added: true };
      case 'duplicate':
        return { added: false, current: toStatus(state, detail) };
      case 'full':
        throw new MempoolError(MempoolErrorCode.MEMPOOL_FULL, `mempool full: ${maxPending} transactions pending`, {
          maxPending: String(maxPending),
        });
      case 'senderFull':
        throw new MempoolError(MempoolErrorCode.SENDER_FULL, `account limit exceeded: the sender has ${maxPerSender} transactions held`, {
          maxPerSender: String(maxPerSender),
        });
      default:
        throw new Error(`unexpected reply from the mempool add script: ${result}`);
    }
  }

  async takeBatch(max: number, epoch: bigint): Promise<MempoolTx[]> {
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`max must be a non-negative integer, got ${max}`);
    if (max === 0) return [];
    const [result, detail] = await this.redis.batonMempoolTake(...this.keys, max, epoch.toString());
    if (result === 'STALE_EPOCH') {
      throw new MempoolError(MempoolErrorCode.STALE_EPOCH, `epoch ${epoch} is stale: the leader fence is at ${String(detail)}`, {
        epoch: epoch.toString(),
        fenceEpoch: String(detail),
      });
    }
    return pairs(detail as string[]);
  }

  async inflight(): Promise<InflightTx[]> {
    const flat = await this.redis.batonMempoolInflight(...this.keys);
    const out: Array<InflightTx & { seq: number }> = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const [seq, epoch, missing] = flat[i + 1]!.split(' ');
      out.push({ hash: flat[i]!, raw: flat[i + 2]!, seq: Number(seq), epoch: BigInt(epoch!), missing: Number(missing) });
    }
    return out.sort((a, b) => a.seq - b.seq).map(({ seq: _, ...tx }) => tx);
  }

  async confirmBlock(block: ConfirmBlock): Promise<ConfirmResult> {
    const number = checkBlockNumber(block.blockNumber);
    const hashes = block.txHashes.map((h) => h.toLowerCase());
    const { maxNonConfirmations, maxFinalized } = this.opts;
    const [status, last, finalized, requeued] = await this.redis.batonMempoolConfirm(
      ...this.keys,
      block.lockToken,
      number,
      maxNonConfirmations,
      maxFinalized,
      ...hashes,
    );
    switch (status) {
      case 'confirmed':
        return { status, finalized, requeued: pairs(requeued) };
      case 'already':
      case 'gap':
        return { status, lastConfirmed: BigInt(last) };
      case 'notWatcher':
        return { status };
      default:
        throw new Error(`unexpected reply from the mempool confirm script: ${status}`);
    }
  }

  drop(hash: string, reason: string, lockToken: string): Promise<DropResult> {
    return this.redis.batonMempoolDrop(...this.keys, lockToken, hash.toLowerCase(), reason, this.opts.maxFinalized);
  }

  queue(hash: string, reason: string, lockToken: string): Promise<QueueResult> {
    const { maxQueued, maxFinalized } = this.opts;
    const fullReason = `${reason}, and ${maxQueued} transactions are queued already`;
    return this.redis.batonMempoolQueue(...this.keys, lockToken, hash.toLowerCase(), reason, maxQueued, fullReason, maxFinalized);
  }

  async expireQueued(lockToken: string): Promise<number | null> {
    const { lifetimeMs, maxFinalized } = this.opts;
    const reason = `expired: queued longer than the mempool lifetime (${lifetimeMs / 1000} s)`;
    const expired = await this.redis.batonMempoolExpireQueued(...this.keys, lockToken, lifetimeMs, reason, maxFinalized);
    return expired < 0 ? null : expired;
  }

  async status(hash: string): Promise<TxStatus> {
    const [state, detail] = await this.redis.batonMempoolStatus(...this.keys, hash.toLowerCase());
    return toStatus(state, detail);
  }

  async senderNonces(from: string): Promise<bigint[]> {
    const members = await this.redis.batonMempoolSenderNonces(...this.keys, from.toLowerCase());
    return members.map((m) => BigInt(`0x${m.split(':')[1]}`));
  }

  async heldRaw(hash: string): Promise<string | null> {
    return (await this.redis.batonMempoolHeldRaw(...this.keys, hash.toLowerCase())) ?? null;
  }

  async lastConfirmed(): Promise<bigint | null> {
    const last = await this.redis.get(this.key.lastConfirmed);
    return last === null ? null : BigInt(last);
  }

  async sizes(): Promise<MempoolSizes> {
    const { pending, queued, inflight, finalized, dropped } = this.key;
    // One MULTI: a consistent snapshot, so a transaction moving between sets is counted once.
    const replies = await this.redis.multi().zcard(pending).zcard(queued).hlen(inflight).zcard(finalized).zcard(dropped).exec();
    const [p, q, i, f, d] = (replies ?? []).map(([err, n]) => {
      if (err) throw err;
      return n as number;
    });
    return { pending: p!, queued: q!, inflight: i!, finalized: f!, dropped: d! };
  }
}

/** `<from>:<nonce as 16 hex digits>:<hash>`: zero-padded, so the lexicographic order of a sender's members is nonce order. */
function senderMember(sender: TxSender, hash: string): string {
  return `${sender.from.toLowerCase()}:${sender.nonce.toString(16).padStart(16, '0')}:${hash}`;
}

/** Lua numbers are doubles: a block number past 2^53 would be silently rounded, so refuse it. */
function checkBlockNumber(n: bigint): string {
  if (n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`block number out of range: ${n}`);
  return n.toString();
}

function pairs(flat: string[]): MempoolTx[] {
  const out: MempoolTx[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push({ hash: flat[i]!, raw: flat[i + 1]! });
  return out;
}

function toStatus(state: string, detail: string): TxStatus {
  switch (state) {
    case 'pending':
      return { status: 'pending' };
    case 'queued':
      return { status: 'queued', reason: detail };
    case 'inflight':
      return { status: 'inflight', epoch: BigInt(detail) };
    case 'finalized':
      return { status: 'finalized', blockNumber: BigInt(detail) };
    case 'dropped':
      return { status: 'dropped', reason: detail };
    case 'unknown':
      return { status: 'unknown' };
    default:
      throw new Error(`unexpected transaction state from the mempool: ${state}`);
  }
}
