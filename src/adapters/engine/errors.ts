import { CodedError } from '../../runtime/errors.js';

/**
 * Why an Engine API (or same-EL `eth_`) call failed.
 *
 * Transport failures (HTTP, timeout, unreachable, parse) are separate from RPC errors so callers
 * can retry the former and treat the latter as a fact about the request. The `-3800x` codes of the
 * Engine API get their own names because each demands a different reaction from the caller.
 */
export const EngineErrorCode = {
  /** The EL answered with a non-2xx HTTP status that is not an auth failure. */
  HTTP: 'ENGINE_HTTP',
  /** The spec timeout of the method elapsed before the EL answered. */
  TIMEOUT: 'ENGINE_TIMEOUT',
  /** The caller's AbortSignal fired (stop/restart), not the timeout. */
  ABORTED: 'ENGINE_ABORTED',
  /** A JSON-RPC error without a more specific name below. `meta.rpcCode` holds the number. */
  RPC: 'ENGINE_RPC',
  /** The body was not JSON, or not the shape the method returns. */
  PARSE: 'ENGINE_PARSE',
  /** HTTP 401/403: the JWT secret does not match the EL's, or the clocks differ by > 60 s. */
  UNAUTHORIZED: 'ENGINE_UNAUTHORIZED',
  /** No HTTP exchange happened (connection refused, DNS, reset). */
  UNREACHABLE: 'ENGINE_UNREACHABLE',
  /** -38001: getPayload for an id the EL does not know (expired or never built). */
  UNKNOWN_PAYLOAD: 'ENGINE_UNKNOWN_PAYLOAD',
  /** -38002: the forkchoice state is inconsistent (e.g. finalized not an ancestor of head). */
  INVALID_FORKCHOICE_STATE: 'ENGINE_INVALID_FORKCHOICE_STATE',
  /** -38003: the forkchoice was applied but the attributes were rejected (no build started). */
  INVALID_PAYLOAD_ATTRIBUTES: 'ENGINE_INVALID_PAYLOAD_ATTRIBUTES',
  /** -38004: a by-range/by-hash request asked for too many items. */
  TOO_LARGE_REQUEST: 'ENGINE_TOO_LARGE_REQUEST',
  /** -38005: the method version does not match the fork at the payload's timestamp. */
  UNSUPPORTED_FORK: 'ENGINE_UNSUPPORTED_FORK',
  /** A JWT secret given by flag or file is not 32 bytes of hex. */
  JWT_SECRET_INVALID: 'ENGINE_JWT_SECRET_INVALID',
} as const;

export type EngineErrorCode = (typeof EngineErrorCode)[keyof typeof EngineErrorCode];

/** Engine API JSON-RPC error numbers (execution-apis `src/engine/common.md#errors`). */
const rpcCodeNames: ReadonlyMap<number, EngineErrorCode> = new Map([
  [-38001, EngineErrorCode.UNKNOWN_PAYLOAD],
  [-38002, EngineErrorCode.INVALID_FORKCHOICE_STATE],
  [-38003, EngineErrorCode.INVALID_PAYLOAD_ATTRIBUTES],
  [-38004, EngineErrorCode.TOO_LARGE_REQUEST],
  [-38005, EngineErrorCode.UNSUPPORTED_FORK],
]);

/** Maps a JSON-RPC error number to its named code, or `ENGINE_RPC` for anything else. */
export function engineCodeForRpcError(rpcCode: number): EngineErrorCode {
  return rpcCodeNames.get(rpcCode) ?? EngineErrorCode.RPC;
}

/** The one error class of the Engine adapter; `meta` carries `method`, `url` and the details. */
export class EngineError extends CodedError<EngineErrorCode> {}
