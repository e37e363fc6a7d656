import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { BlockSink } from '../../actors/publisher.js';
import type { IBlockStore } from '../postgres/interface.js';
import { BlockStream } from './blockStream.js';
import { type BlockStreamOptions, defaultBlockStreamOptions } from './options.js';

/** Blocks re-read from PostgreSQL per page when repairing the Stream. */
const REPAIR_PAGE = 100;

/**
 * The Redis Stream as a Publisher sink: every committed block is appended with its epoch (the
 * append is fenced in Lua), and a new term repairs the tail a predecessor committed but never
 * appended — it may have died between its PostgreSQL commit and its `XADD` (DESIGN §2.3).
 */
export function redisStreamSink(opts: BlockStreamOptions, modules: { redis: Redis; logger: Logger }): BlockSink {
  const stream = new BlockStream(opts, modules);
  const maxLen = BigInt(opts.maxLen ?? defaultBlockStreamOptions.maxLen);
  return {
    name: 'redisStream',
    async publish(block, epoch) {
      const { number, hash, timestamp } = block.summary;
      await stream.append({ number, hash, timestamp, payload: block.payloadData }, epoch);
    },
    async repair(epoch: bigint, store: IBlockStore) {
      const head = await store.head();
      if (!head) return 0;
      const last = await stream.lastEntry();
      // An empty Stream gets at most its cap re-published; older blocks are served from PostgreSQL.
      let after = last ? last.number : head.number > maxLen ? head.number - maxLen : 0n;
      let republished = 0;
      while (after < head.number) {
        const page = await store.range(after, REPAIR_PAGE);
        if (page.length === 0) break;
        for (const block of page) {
          if (block.number > head.number) break;
          await stream.append({ number: block.number, hash: block.hash, timestamp: block.timestamp, payload: block.payloadData }, epoch);
          republished++;
        }
        after = page.at(-1)!.number;
      }
      return republished;
    },
  };
}
