/**
 * The block store port: where committed blocks live (DESIGN §4, §5). Actors depend on this
 * interface, not on postgres.js, so the Publisher, Executor, feed and HTTP API share one contract.
 */

/** A block as the Publisher (leader) or Executor (member) hands it to the store. */
export interface BlockToCommit {
  number: bigint;
  /** 0x-prefixed hex; compared case-insensitively (stored lower-case). */
  hash: string;
  parentHash: string;
  /** Seconds since the Unix epoch, as in the block header. */
  timestamp: bigint;
  txCount: number;
  /** The msgpack-encoded payload, the same bytes that go to the Stream and the feed. */
  payloadData: Uint8Array;
  requestsData: Uint8Array;
}

/** What the feed and HTTP API can serve without decoding the payload. */
export interface BlockSummary {
  number: bigint;
  hash: string;
  parentHash: string;
  timestamp: bigint;
  txCount: number;
  /** Epoch of the leader that committed the block. */
  epoch: bigint;
  leader: string;
}

/** A committed row in full. */
export interface StoredBlock extends BlockSummary {
  payloadData: Uint8Array;
  requestsData: Uint8Array;
  createdAt: Date;
}

/** `inserted: false` means the identical block was already committed (an idempotent retry). */
export interface CommitResult {
  inserted: boolean;
}

export interface IBlockStore {
  migrate(): Promise<void>;
  commitBlock(block: BlockToCommit, epoch: bigint, leader: string): Promise<CommitResult>;
  head(): Promise<BlockSummary | null>;
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
