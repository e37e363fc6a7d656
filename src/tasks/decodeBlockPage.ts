import type { BlockJson, SyncBlock } from '../types/block.js';

/**
 * Parses a `GET /blocks?after=N&limit=M` response body on the pool: a page of 1,400-transaction
 * blocks is tens of megabytes of JSON and base64, far past the supervisor thread's ~1 ms budget.
 * Throws on anything that is not a well-formed page, so a bad leader response is an error, not a
 * half-read page.
 */
export function decodeBlockPage(body: Uint8Array): SyncBlock[] {
  const parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as unknown;
  if (!Array.isArray(parsed)) throw new Error('not a block page: expected a JSON array');
  return parsed.map((raw, i) => {
    const row = raw as BlockJson;
    for (const field of ['block_hash', 'parent_hash', 'payload_data', 'requests_data', 'leader'] as const) {
      if (typeof row[field] !== 'string') throw new Error(`block ${i} of the page has no ${field}`);
    }
    return {
      number: BigInt(row.block_number),
      hash: row.block_hash.toLowerCase(),
      parentHash: row.parent_hash.toLowerCase(),
      timestamp: BigInt(row.timestamp),
      txCount: Number(row.tx_count),
      epoch: BigInt(row.epoch),
      leader: row.leader,
      payloadData: new Uint8Array(Buffer.from(row.payload_data, 'base64')),
      requestsData: new Uint8Array(Buffer.from(row.requests_data, 'base64')),
    };
  });
}
