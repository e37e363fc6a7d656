import type { Logger } from 'pino';
import { LeaseError, LeaseErrorCode } from './errors.js';
import type { Grant, LeaseBackend } from './interface.js';

export function abortedError(signal: AbortSignal): LeaseError {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
  return new LeaseError(LeaseErrorCode.LEASE_ABORTED, `lease request aborted: ${reason}`);
}

/**
 * Runs `op` but rejects as soon as `signal` aborts, without waiting for the backend. Does not
 * start `op` if already aborted. A result that arrives after the abort goes to `onLate`, so a
 * grant nobody will use can be released instead of blocking others until its TTL.
 */
export function abortable<T>(signal: AbortSignal, op: () => Promise<T>, onLate?: (value: T) => void): Promise<T> {
  if (signal.aborted) return Promise.reject(abortedError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortedError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    op().then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) onLate?.(value);
        else resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** PX and expiry arithmetic take a positive integer; a fractional or zero TTL is a caller bug. */
export function checkTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}`);
}

/**
 * The `onLate` of `abortable` for an acquire: a grant that arrived after its request was aborted is
 * released at once, so nobody waits out a TTL for a lease no one holds.
 */
export function releaseLateGrant(backend: Pick<LeaseBackend, 'release'>, id: string, grant: Grant | null, logger: Logger): void {
  if (!grant) return;
  logger.info({ epoch: grant.epoch }, 'Releasing a lease acquired after its request was aborted');
  backend.release(id, grant).catch((err: unknown) => logger.warn({ err }, 'Lease release failed'));
}
