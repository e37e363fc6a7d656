/**
 * The leader-election port (DESIGN §3): the seed's TryAcquire/Renew/Release plus fencing epochs.
 * Five backends implement it (redis, postgres, etcd, kubernetes, file); the Elector drives any.
 */
import type { NodeHealthRecord } from '../../types/health.js';

/** Proof of holding the lease. */
export interface Grant {
  /**
   * Fencing token: strictly increasing per new acquisition, across holders and backend restarts.
   * Every commit and publish carries it, so a deposed leader's late writes are refused (§4).
   */
  epoch: bigint;
}

/** Who holds the lease now, as members and /health see it. */
export interface LeaseHolder {
  holder: string;
  epoch: bigint;
  /** Published by the holder when it acquired, e.g. `{ apiUrl }` that members sync from. */
  meta?: Record<string, string>;
}

export interface LeaseBackend {
  /**
   * Takes the lease if nobody holds it (or the holder's TTL has run out): a new grant with a new
   * epoch, else null. A holder calling again gets null too; it renews instead. Rejects with
   * LEASE_ABORTED as soon as `signal` aborts; a grant obtained after that is released, not leaked.
   */
  tryAcquire(id: string, ttlMs: number, signal: AbortSignal, meta?: Record<string, string>): Promise<Grant | null>;
  /**
   * Extends the lease by `ttlMs` from now if `grant` is still the live one for `id`; null if it
   * expired or anyone (including `id` again, under a newer epoch) acquired since.
   */
  renew(id: string, grant: Grant, ttlMs: number, signal: AbortSignal): Promise<Grant | null>;
  /** Frees the lease at once if `grant` is still the live one; otherwise does nothing. */
  release(id: string, grant: Grant): Promise<void>;
  /** The live holder, or null when the lease is free or expired. */
  current(signal: AbortSignal): Promise<LeaseHolder | null>;
  /**
   * Optional: call `onRelease` soon after any holder releases, until `signal` aborts, so standbys
   * campaign at once instead of at their next retry: a graceful handoff (SIGTERM, pause, transfer)
   * then costs one round trip, not a retry interval. A hint only: correctness never depends on it.
   */
  watchReleases?(signal: AbortSignal, onRelease: () => void): void;
  /**
   * Publishes this node's health record for `ttlMs`: after that, unless published again, it is no
   * longer listed (the backend judges freshness by its own clock or TTL, never the writer's). Every
   * multi-node backend has it; without it (the file lease, one node) no standby is ever seen.
   */
  publishHealth?(record: NodeHealthRecord, ttlMs: number, signal: AbortSignal): Promise<void>;
  /** Every node's fresh health record (this node's own included). */
  healthRecords?(signal: AbortSignal): Promise<NodeHealthRecord[]>;
}
