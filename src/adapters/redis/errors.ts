import { CodedError } from '../../runtime/errors.js';

export const StreamErrorCode = {
  /** The epoch key holds a higher epoch than the caller's: a newer leader exists. */
  STALE_EPOCH: 'STALE_EPOCH',
  /** The Stream already holds a different block at this height. */
  HEIGHT_TAKEN: 'HEIGHT_TAKEN',
  /**
   * The height is below the Stream's last entry but has no entry (trimmed by MAXLEN, or skipped):
   * Stream IDs only grow, so it can no longer be appended.
   */
  OUT_OF_ORDER: 'OUT_OF_ORDER',
} as const;
export type StreamErrorCode = (typeof StreamErrorCode)[keyof typeof StreamErrorCode];

/** Errors of the Redis block Stream. Metadata values are strings so they survive JSON and msgpack. */
export class StreamError extends CodedError<StreamErrorCode> {
  constructor(code: StreamErrorCode, message: string, meta: Record<string, string> = {}) {
    super(code, message, meta);
  }
}
