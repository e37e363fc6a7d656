/**
 * A block in each of the forms it takes on its way from the Builder to a member, in one place.
 *
 * - `BlockEnvelope`: what `engine_newPayloadV4` needs to execute it; msgpack of it is `payloadData`.
 * - `EncodedBlock`: built and encoded once on the pool; the same bytes go to PostgreSQL, the Redis
 *   Stream and the feed.
 * - `BlockToCommit` → `StoredBlock`: a row of the `payloads` table, before and after the commit.
 * - `FeedBlock`: what the Publisher hands the feed; `ReceivedBlock` / `SyncBlock`: what a member
 *   receives from the feed or `GET /blocks`.
 * - `BlockJson`: the HTTP API's JSON form of a stored block.
 */
import type { Data, ExecutionPayloadV3 } from './engine.js';

/** Everything `engine_newPayloadV4` needs to re-execute a block: what members and a catching-up leader replay. */
export interface BlockEnvelope {
  executionPayload: ExecutionPayloadV3;
  versionedHashes: Data[];
  parentBeaconBlockRoot: Data;
}

/** The header fields served without decoding the payload (feed messages, `/blocks` summaries, the store's columns). */
export interface BlockHeader {
  number: bigint;
  /** 0x-prefixed hex, lower-case. */
  hash: Data;
  parentHash: Data;
  /** Seconds since the Unix epoch, as in the block header. */
  timestamp: bigint;
  txCount: number;
}

/** The encoded block itself: written once, then stored, appended and sent as these same bytes. */
export interface BlockBytes {
  /** msgpack of the `BlockEnvelope`. */
  payloadData: Uint8Array;
  /** msgpack of the EIP-7685 execution requests. */
  requestsData: Uint8Array;
}

/** A built block, encoded on the pool (`encodeBlock`), not yet committed. */
export interface EncodedBlock extends BlockBytes {
  summary: BlockHeader;
}

/** A block as the Publisher (leader) or Executor (member) hands it to the store. */
export interface BlockToCommit extends BlockHeader, BlockBytes {}

/** A committed block's header and who committed it: what the feed and the HTTP API serve without the payload. */
export interface CommittedBlock extends BlockHeader {
  /** Epoch of the leader that committed the block (the fencing token of its term). */
  epoch: bigint;
  leader: string;
}

/** A committed row in full. */
export interface StoredBlock extends CommittedBlock, BlockBytes {
  createdAt: Date;
}

/** A committed block as the Publisher (or a member's Executor) hands it to its feed. */
export interface FeedBlock extends EncodedBlock {
  epoch: bigint;
}

/** A committed block as a client of the feed receives it. */
export interface ReceivedBlock extends BlockHeader, BlockBytes {
  epoch: bigint;
}

/** A committed block as a member receives it, from the feed or from `GET /blocks`. */
export interface SyncBlock extends ReceivedBlock {
  /** Who committed it, when the source says (the HTTP API does, the feed does not). */
  leader: string | null;
}

/**
 * A committed block as the HTTP API (and the JSON feed) serves it: the seed's snake_case fields,
 * payload bytes as base64, bigints as numbers while exact and decimal strings beyond,
 * `created_at` as ISO 8601.
 */
export interface BlockJson {
  block_number: number | string;
  block_hash: string;
  parent_hash: string;
  payload_data: string;
  requests_data: string;
  timestamp: number | string;
  epoch: number | string;
  leader: string;
  tx_count: number;
  created_at: string;
}
