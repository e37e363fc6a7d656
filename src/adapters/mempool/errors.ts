import { CodedError } from '../../runtime/errors.js';

/**
 * Why a transaction or a mempool operation was refused. The `TX_*` codes come from the
 * `decodeTransaction` pool task and reach clients as JSON-RPC `-32000` errors; nothing they
 * describe ever reaches Redis.
 */
export const MempoolErrorCode = {
  /** Not a transaction: bad RLP, wrong field count, an unknown type byte, a value out of range. */
  TX_MALFORMED: 'TX_MALFORMED',
  /** Signed for another chain: replaying it here is exactly what EIP-155 exists to prevent. */
  TX_WRONG_CHAIN: 'TX_WRONG_CHAIN',
  /** No signature (v, r, s empty): there is no sender to recover. */
  TX_UNSIGNED: 'TX_UNSIGNED',
  /** A pre-EIP-155 legacy signature (v = 27/28) is valid on every chain; ELs refuse it over RPC too. */
  TX_UNPROTECTED: 'TX_UNPROTECTED',
  /** The signature does not recover a sender (bad r/s, high s per EIP-2). */
  TX_INVALID_SIGNATURE: 'TX_INVALID_SIGNATURE',
  /** Decodes and recovers but can never execute (e.g. gas limit below the intrinsic gas). */
  TX_INVALID: 'TX_INVALID',
  /** A type this chain cannot carry: blob transactions need sidecars that Baton's payloads never have. */
  TX_UNSUPPORTED_TYPE: 'TX_UNSUPPORTED_TYPE',
  /** `pending` is at `maxPending`: refused, not evicted, so an accepted transaction is never lost. */
  MEMPOOL_FULL: 'MEMPOOL_FULL',
  /** A batch was asked for with an epoch below the leader fence (`<prefix>:epoch`): a deposed leader. */
  STALE_EPOCH: 'STALE_EPOCH',
} as const;
export type MempoolErrorCode = (typeof MempoolErrorCode)[keyof typeof MempoolErrorCode];

/** The mempool's one error class; metadata values are strings so they survive msgpack and JSON. */
export class MempoolError extends CodedError<MempoolErrorCode> {
  constructor(code: MempoolErrorCode, message: string, meta: Record<string, string> = {}) {
    super(code, message, meta);
  }
}
