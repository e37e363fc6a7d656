import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { encode } from '../runtime/codec.js';
import type { BlockEnvelope, EncodedBlock } from '../types/block.js';
import type { Data, ExecutionPayloadV3 } from '../types/engine.js';

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
