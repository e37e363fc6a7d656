import { CodedError } from '../../runtime/errors.js';

export const LeaseErrorCode = {
  /** The caller's AbortSignal fired before the backend answered. */
  LEASE_ABORTED: 'LEASE_ABORTED',
  /** The lease state is unreadable (e.g. a hand-edited lease file). Never overwritten: it holds the epoch. */
  LEASE_CORRUPT: 'LEASE_CORRUPT',
  /** The backend did not say who leads when asked at start: unreachable, refused, or misconfigured. */
  LEASE_UNAVAILABLE: 'LEASE_UNAVAILABLE',
} as const;
export type LeaseErrorCode = (typeof LeaseErrorCode)[keyof typeof LeaseErrorCode];

/** The lease backends' error class. */
export class LeaseError extends CodedError<LeaseErrorCode> {
  constructor(code: LeaseErrorCode, message: string, meta: Record<string, string> = {}) {
    super(code, message, meta);
  }
}
