import type { HttpResponse, RecognizedString } from 'uWebSockets.js';
import { STATUS_CODES } from 'node:http';

/** Without a charset parameter: JSON is UTF-8 by definition (RFC 8259), and clients match on the bare type. */
export const JSON_CONTENT_TYPE = 'application/json';

/**
 * A bigint as JSON: a number while it is exact (≤ Number.MAX_SAFE_INTEGER in magnitude), a
 * decimal string beyond. Heights, timestamps and epochs stay numbers for every real chain, and
 * a client can still read an out-of-range value without precision loss.
 */
export function bigintToJson(value: bigint): number | string {
  const safe = value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER);
  return safe ? Number(value) : value.toString();
}

/** `JSON.stringify` that accepts bigints (see `bigintToJson`), e.g. epochs in a /health body. */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? bigintToJson(v) : v));
}

/**
 * One uWS response, made safe to answer from async code. uWS forbids touching a response after
 * the client aborted, and wants writes after an `await` corked; `Reply` attaches the abort handler
 * at once (uWS requires one before the handler returns), drops writes after an abort or a first
 * answer, and corks every write.
 */
export class Reply {
  private aborted = false;
  private answered = false;
  private readonly abortListeners: (() => void)[] = [];

  constructor(readonly res: HttpResponse) {
    res.onAborted(() => {
      this.aborted = true;
      for (const listener of this.abortListeners) listener();
    });
  }

  /** False once the client aborted or an answer was sent: later writes are dropped. */
  get open(): boolean {
    return !this.aborted && !this.answered;
  }

  /** Runs `listener` if the client aborts; uWS allows one abort handler per response, this one fans out. */
  onAbort(listener: () => void): void {
    this.abortListeners.push(listener);
  }

  /** Answers once, corked (safe after an `await`); a no-op once the reply is no longer `open`. */
  send(status: number, contentType: string, body: RecognizedString, headers: Record<string, string> = {}): void {
    if (!this.open) return;
    this.answered = true;
    this.res.cork(() => {
      this.res.writeStatus(`${status} ${STATUS_CODES[status] ?? 'Unknown'}`).writeHeader('content-type', contentType);
      for (const [name, value] of Object.entries(headers)) this.res.writeHeader(name, value);
      this.res.end(body);
    });
  }

  json(status: number, value: unknown, headers?: Record<string, string>): void {
    this.send(status, JSON_CONTENT_TYPE, stringifyJson(value), headers);
  }

  /** The error shape of every route: `{error: {code, message}}`. */
  error(status: number, code: string, message: string, headers?: Record<string, string>): void {
    this.json(status, { error: { code, message } }, headers);
  }
}
