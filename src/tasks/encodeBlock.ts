import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { Data, ExecutionPayloadV3 } from '../adapters/engine/interface.js';
import { encode } from '../runtime/codec.js';

/** Everything `engine_newPayloadV4` needs to re-execute a block: what members and a catching-up leader replay. */
export interface BlockEnvelope {
  executionPayload: ExecutionPayloadV3;
  versionedHashes: Data[];
  parentBeaconBlockRoot: Data;
}

export interface EncodeBlockInput {
  executionPayload: ExecutionPayloadV3;
  /** KZG commitments of the payload's blobs (getPayload's `blobsBundle`), turned into versioned hashes here. */
  blobCommitments: Data[];
  parentBeaconBlockRoot: Data;
  executionRequests: Data[];
}

/** EIP-4844 versioned hash of a KZG commitment: version byte 0x01, then sha256(commitment)[1:]. */
function versionedHash(commitment: Data): Data {
  const hash = sha256(hexToBytes(commitment.slice(2)));
  hash[0] = 0x01;
  return `0x${bytesToHex(hash)}`;
}

/** The header fields served without decoding the payload (feed messages, `/blocks` summaries, the store's columns). */
export interface BlockHeaderSummary {
  number: bigint;
  hash: Data;
  parentHash: Data;
  timestamp: bigint;
  txCount: number;
}

export interface EncodedBlock {
  summary: BlockHeaderSummary;
  /** msgpack of the `BlockEnvelope`: the bytes stored in PostgreSQL, appended to the Stream and sent on the feed. */
  payloadData: Uint8Array;
  /** msgpack of the EIP-7685 execution requests. */
  requestsData: Uint8Array;
}

/**
 * Encode a built payload once, on the pool: the same bytes then go to PostgreSQL, the Redis Stream
 * and the WebSocket feed (DESIGN §1). Hex stays hex inside the msgpack, as the EL sent it, so a
 * member forwards the payload to its own EL without a lossy round trip.
 */
export function encodeBlock(input: EncodeBlockInput): EncodedBlock {
  const { executionPayload, blobCommitments, parentBeaconBlockRoot, executionRequests } = input;
  const versionedHashes = blobCommitments.map(versionedHash);
  return {
    summary: {
      number: BigInt(executionPayload.blockNumber),
      hash: executionPayload.blockHash.toLowerCase(),
      parentHash: executionPayload.parentHash.toLowerCase(),
      timestamp: BigInt(executionPayload.timestamp),
      txCount: executionPayload.transactions.length,
    },
    payloadData: encode({ executionPayload, versionedHashes, parentBeaconBlockRoot } satisfies BlockEnvelope),
    requestsData: encode(executionRequests),
  };
}
