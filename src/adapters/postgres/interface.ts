/**
 * The block store port: where committed blocks live (DESIGN §4, §5). Actors depend on this
 * interface, not on postgres.js, so the Publisher, Executor, feed and HTTP API share one contract.
 */
import type { BlockToCommit, CommittedBlock, StoredBlock } from '../../types/block.js';

/** `inserted: false` means the identical block was already committed (an idempotent retry). */
export interface CommitResult {
  inserted: boolean;
}

export interface IBlockStore {
  migrate(): Promise<void>;
  commitBlock(block: BlockToCommit, epoch: bigint, leader: string): Promise<CommitResult>;
  /** The highest committed block; with `signal`, rejects (and cancels the query) as soon as it aborts. */
  head(signal?: AbortSignal): Promise<CommittedBlock | null>;
  getByNumber(number: bigint): Promise<StoredBlock | null>;
  getByHash(hash: string): Promise<StoredBlock | null>;
  range(afterNumber: bigint, limit: number): Promise<StoredBlock[]>;
  pages(fromNumber: bigint, pageSize: number): AsyncIterableIterator<StoredBlock[]>;
  /** A new leader's first write: lift the fence to its epoch so no older leader can commit after it took over. */
  raiseFence(epoch: bigint): Promise<void>;
  fenceEpoch(): Promise<bigint>;
  /** `timeout` in seconds, as postgres.js `end()`: in-flight queries get that long before sockets close. */
  close(opts?: { timeout?: number }): Promise<void>;
}
