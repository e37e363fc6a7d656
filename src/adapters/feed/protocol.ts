/**
 * The feed's wire protocol (DESIGN §6), shared by the server and `FeedClient`.
 *
 * Client → server, one text frame of JSON:
 *   `{"op":"subscribe","from"?:N,"encoding"?:"json"|"msgpack","payload"?:bool}`
 *   Without `from`: live blocks only. With `from`: committed blocks from N, then live, in order,
 *   without gap or duplicate. A new subscribe replaces the previous one on the same connection.
 *   A `from` beyond the head waits until the chain reaches it.
 *
 * Server → client, one frame per block:
 *   - json (text): `{"type":"block","number","hash","parentHash","timestamp","txCount","epoch",
 *     "payload"?:{executionPayload,versionedHashes,parentBeaconBlockRoot,executionRequests}}`;
 *     bigints are numbers while exact, decimal strings beyond.
 *   - msgpack (binary): `{type:"block",number,hash,parentHash,timestamp,txCount,epoch,
 *     payload?:bin,requests?:bin}` where `payload`/`requests` are the stored msgpack bytes
 *     (`payloadData`/`requestsData`) unchanged; integers are msgpack ints (int64 for bigints).
 *   Errors are always JSON text: `{"type":"error","code","message"}`; the connection stays open.
 */
import { decode, encode } from '../../runtime/codec.js';
import type { FeedBlock } from '../../types/block.js';
import { stringifyJson } from '../http/reply.js';

export type FeedEncoding = 'json' | 'msgpack';

export interface SubscribeRequest {
  op: 'subscribe';
  /** First block wanted; undefined = live only. */
  from?: bigint;
  encoding: FeedEncoding;
  payload: boolean;
}

/** Codes of `{"type":"error"}` frames. */
export const FeedErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  RATE_LIMITED: 'RATE_LIMITED',
  /** The store failed during replay; resubscribe with your cursor. */
  REPLAY_FAILED: 'REPLAY_FAILED',
} as const;
export type FeedErrorCode = (typeof FeedErrorCode)[keyof typeof FeedErrorCode];

/**
 * WebSocket close codes the server sends. Every one of them means "reconnect and subscribe with
 * `from` = your cursor + 1"; no block is lost, only delayed.
 */
export const FeedCloseCode = {
  /** The server is shutting down (RFC 6455 "going away"). */
  GOING_AWAY: 1001,
  /** Over `maxSubscribers` (RFC 6455 "try again later"); normally refused earlier with HTTP 503. */
  TRY_AGAIN_LATER: 1013,
  /** Slow consumer: more than `maxBackpressure` bytes buffered (app-level code, 4000–4999 range). */
  SLOW_CONSUMER: 4008,
} as const;

/** Parses one client message; returns a request or a `BAD_REQUEST` message. Never throws. */
export function parseSubscribe(text: string): SubscribeRequest | string {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return 'message is not valid JSON';
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return 'message must be a JSON object';
  const { op, from, encoding = 'json', payload = false } = msg as Record<string, unknown>;
  if (op !== 'subscribe') return `unknown op ${JSON.stringify(op)}; expected "subscribe"`;
  if (encoding !== 'json' && encoding !== 'msgpack') return 'encoding must be "json" or "msgpack"';
  if (typeof payload !== 'boolean') return 'payload must be a boolean';
  if (from === undefined || from === null) return { op, encoding, payload };
  // A decimal string allows heights beyond 2^53, mirroring how the server writes them.
  const valid = (typeof from === 'number' && Number.isSafeInteger(from) && from >= 0) || (typeof from === 'string' && /^\d{1,20}$/.test(from));
  if (!valid) return 'from must be a non-negative integer (or a decimal string)';
  return { op, from: BigInt(from), encoding, payload };
}

/** The topic of one encoding × payload choice: each live block is encoded once per topic, not per subscriber. */
export function topicOf(encoding: FeedEncoding, payload: boolean): string {
  return `blocks/${encoding}/${payload ? 'full' : 'summary'}`;
}

/** One block frame in the given form (text JSON or binary msgpack). */
export function encodeBlockFrame(block: FeedBlock, encoding: FeedEncoding, payload: boolean): string | Uint8Array {
  const { number, hash, parentHash, timestamp, txCount } = block.summary;
  const head = { type: 'block', number, hash, parentHash, timestamp, txCount, epoch: block.epoch };
  if (encoding === 'msgpack') {
    return encode(payload ? { ...head, payload: block.payloadData, requests: block.requestsData } : head);
  }
  if (!payload) return stringifyJson(head);
  const envelope = decode<Record<string, unknown>>(block.payloadData);
  return stringifyJson({ ...head, payload: { ...envelope, executionRequests: decode(block.requestsData) } });
}

/** An error frame (always JSON text, whatever the subscription's encoding). */
export function encodeErrorFrame(code: FeedErrorCode, message: string): string {
  return JSON.stringify({ type: 'error', code, message });
}
