import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { BlockSink } from '../../types/sink.js';
import type { IBlockStore } from '../postgres/interface.js';
import { BlockStream } from './blockStream.js';
import { type BlockStreamOptions, defaultBlockStreamOptions } from './options.js';

/** Blocks re-read from PostgreSQL per page when repairing the Stream. */
const REPAIR_PAGE = 100;

/**
 * The Redis Stream as a Publisher sink: every committed block is appended with its epoch (the
 * append is fenced in Lua). What is missing gets re-published from PostgreSQL, from the Stream's
 * last entry up to the committed head: at a new term (a predecessor may have died between its
 * commit and its `XADD`, DESIGN §2.3), and at the first publish after a failed one (Redis was
 * restarted or unreachable), so a Redis outage never leaves a hole in the Stream.
 */
export function redisStreamSink(opts: BlockStreamOptions, modules: { redis: Redis; logger: Logger; store: IBlockStore }): BlockSink {
  const stream = new BlockStream(opts, modules);
  const maxLen = BigInt(opts.maxLen ?? defaultBlockStreamOptions.maxLen);
  /** An append failed: the Stream may lack that block, so the next publish repairs instead of appending one. */
  let behind = false;

  async function repair(epoch: bigint): Promise<number> {
    const head = await modules.store.head();
    if (!head) return 0;
    const last = await stream.lastEntry();
    // An empty Stream gets at most its cap re-published; older blocks are served from PostgreSQL.
    let after = last ? last.number : head.number > maxLen ? head.number - maxLen : 0n;
    let republished = 0;
    while (after < head.number) {
      const page = await modules.store.range(after, REPAIR_PAGE);
      if (page.length === 0) break;
      for (const block of page) {
        if (block.number > head.number) break;
        await stream.append({ number: block.number, hash: block.hash, timestamp: block.timestamp, payload: block.payloadData }, epoch);
        republished++;
      }
      after = page.at(-1)!.number;
    }
    return republished;
  }

  return {
    name: 'redisStream',
    async publish(block, epoch) {
      try {
        if (behind) {
          // The block is committed, so the repair (up to the committed head) appends it too.
          const republished = await repair(epoch);
          modules.logger.info({ republished, number: block.summary.number }, 'Re-published the blocks a failed append left out of the Stream');
        } else {
          const { number, hash, timestamp } = block.summary;
          await stream.append({ number, hash, timestamp, payload: block.payloadData }, epoch);
        }
        behind = false;
      } catch (err) {
        behind = true;
        throw err;
      }
    },
    async repair(epoch) {
      const republished = await repair(epoch);
      behind = false;
      return republished;
    },
  };
}
