import type { StoredBlock } from "../postgres/interface.js";
import { bigintToJson } from "./reply.js";

/**
 * A committed block as the HTTP API (and the JSON feed) serves it: the seed's snake_case fields,
 * payload bytes as base64, bigints as numbers while exact and decimal strings beyond
 * (`bigintToJson`), `created_at` as ISO 8601.
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

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");

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
