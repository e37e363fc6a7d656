import { CodedError } from '../../runtime/errors.js';

/** Why a request was refused, or why a server could not start. */
export const HttpErrorCode = {
  /** A malformed path parameter or query string, e.g. `/blocks?limit=-1`. */
  BAD_REQUEST: 'BAD_REQUEST',
  /** A request body that is not JSON. */
  INVALID_JSON: 'INVALID_JSON',
  /** No such route, or no such block. */
  NOT_FOUND: 'NOT_FOUND',
  /** The route exists for other methods; the response lists them in `Allow`. */
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  /** A request body above the route's byte limit; the rest of the body is not read. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** The block store failed (e.g. PostgreSQL down); the client should retry, the server keeps serving. */
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
  /** A bug: a handler threw something unexpected. Logged with its stack; the client sees no detail. */
  INTERNAL: 'INTERNAL',
  /** The listen address is taken or not local. Never sent to a client. */
  LISTEN_FAILED: 'LISTEN_FAILED',
  /** The client went away before its body was read. Never sent to a client (it is gone). */
  ABORTED: 'ABORTED',
} as const;
export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

const statusByCode: Record<HttpErrorCode, number> = {
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  STORE_UNAVAILABLE: 503,
  INTERNAL: 500,
  LISTEN_FAILED: 500,
  ABORTED: 499,
};

/**
 * The HTTP adapter's only error class. Route handlers throw it and the server turns it into
 * `{error: {code, message}}` with the code's status, so every error response has one shape.
 */
export class HttpError extends CodedError<HttpErrorCode> {
  get status(): number {
    return statusByCode[this.code];
  }
}
