/** Bounds of an exponential backoff, and whether to spread retries of many clients apart. */
export interface BackoffPolicy {
  minMs: number;
  maxMs: number;
  /**
   * "Equal jitter": a delay drawn from the upper half of the exponential step, so clients that
   * failed together (members of one leader) do not retry in lockstep, yet none retries early.
   */
  jitter: boolean;
}

/** The delay before retry number `failures` (1 for the first): `minMs` doubling up to `maxMs`. */
export function backoffDelay(failures: number, policy: BackoffPolicy): number {
  const ceiling = Math.min(policy.maxMs, policy.minMs * 2 ** Math.max(0, failures - 1));
  return policy.jitter ? ceiling / 2 + Math.random() * (ceiling / 2) : ceiling;
}
