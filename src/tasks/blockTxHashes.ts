import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { decode } from '../runtime/codec.js';
import type { BlockEnvelope } from '../types/block.js';
import { keccak256 } from './keccak256.js';

/**
 * The transaction hashes of stored blocks (each a msgpack `BlockEnvelope`), for the mempool
 * watcher's confirmations: a page of 1,400-transaction blocks is thousands of keccaks, pool work.
 */
export function blockTxHashes(payloads: Uint8Array[]): string[][] {
  return payloads.map((payloadData) =>
    decode<BlockEnvelope>(payloadData).executionPayload.transactions.map((tx) => `0x${bytesToHex(keccak256(hexToBytes(tx.slice(2))))}`),
  );
}
