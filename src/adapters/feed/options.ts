/** Options of the WebSocket block feed (`WS /feed`, DESIGN §6). */
export interface FeedOptions {
  /**
   * Open connections allowed (`--feed-max-subscribers`). Each costs a socket and up to
   * `maxBackpressure` of buffered frames, so this bounds the feed's memory; over it the upgrade
   * is answered 503.
   */
  maxSubscribers?: number;
  /**
   * Largest client message accepted (bytes). Clients only send small subscribe requests; larger
   * messages get a `MESSAGE_TOO_LARGE` error frame and the connection stays open.
   */
  maxMessageBytes?: number;
  /**
   * Bytes that may be buffered for one socket. A live subscriber above it is closed with 4008 and
   * resumes with its cursor (live frames cannot wait for one reader); a replay waits for `drain`.
   */
  maxBackpressure?: number;
  /** How long a replay waits for a reader to drain before closing it with 4008 (a stuck reader would pin a replay forever). */
  replayDrainTimeoutMs?: number;
  /** Blocks read per store query during replay: bounds memory per replaying subscriber. */
  replayPageSize?: number;
  /** Subscribe requests allowed per connection per `subscribeWindowMs`: each may start a store replay. */
  maxSubscribesPerWindow?: number;
  subscribeWindowMs?: number;
}

export const defaultFeedOptions = {
  maxSubscribers: 10_000,
  maxMessageBytes: 4 * 1024,
  maxBackpressure: 4 * 1024 * 1024,
  replayDrainTimeoutMs: 30_000,
  replayPageSize: 100,
  maxSubscribesPerWindow: 5,
  subscribeWindowMs: 10_000,
} satisfies Required<FeedOptions>;

/**
 * uWS closes a connection (no error frame possible) on a message above its `maxPayloadLength`;
 * it is set this much above `maxMessageBytes` so ordinary oversized requests still get an answer.
 */
export const HARD_MESSAGE_LIMIT_FACTOR = 16;
