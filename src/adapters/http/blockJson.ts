import type { BlockJson, StoredBlock } from '../../types/block.js';
import { bigintToJson } from './reply.js';

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

export function toBlockJson(block: StoredBlock): BlockJson {
  return {
    block_number: bigintToJson(block.number),
    block_hash: block.hash,
    parent_hash: block.parentHash,
    payload_data: base64(block.payloadData),
    requests_data: base64(block.requestsData),
    timestamp: bigintToJson(block.timestamp),
    epoch: bigintToJson(block.epoch),
    leader: block.leader,
    tx_count: block.txCount,
    created_at: block.createdAt.toISOString(),
  };
}
