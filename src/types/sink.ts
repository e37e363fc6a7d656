import type { EncodedBlock } from './block.js';

/**
 * Where a committed block becomes visible after the commit (the Redis Stream, the WebSocket
 * feed). The Publisher calls every sink only after the PostgreSQL commit, so each serves committed
 * blocks only; a sink that can be written by a stale leader fences itself (the Stream's epoch check).
 */
export interface BlockSink {
  readonly name: string;
  publish(block: EncodedBlock, epoch: bigint): Promise<void>;
  /** Re-publish what a predecessor committed but never published (only the Redis Stream needs this). */
  repair?(epoch: bigint): Promise<number>;
}
