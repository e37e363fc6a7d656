import { CodedError } from '../../runtime/errors.js';

/**
 * Why a mempool operation was refused. (A transaction that cannot be admitted at all is refused
 * before the mempool, by the `decodeTransaction` task's `TxErrorCode`s.)
 */
export const MempoolErrorCode = {
  /** `pending` is at `maxPending`: refused, not evicted, so an accepted transaction is never lost. */
  MEMPOOL_FULL: 'MEMPOOL_FULL',
  /** The sender already has `maxPerSender` transactions held: refused, as Geth refuses past its account limit. */
  SENDER_FULL: 'SENDER_FULL',
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
