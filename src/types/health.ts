/**
 * What a leader-capable node says about itself, published through the lease backend where every
 * other node can read it: a leader hands over only to a standby whose record says it is ready.
 * Freshness is the backend's to judge (a record lives for a TTL the backend enforces), not the
 * writer's clock.
 */
export interface NodeHealthRecord {
  /** The node's `--instance-id`. */
  id: string;
  /** Could take over now: its EL answers and is at (within one block of) the committed head, its actors run, it is healthy and not paused. */
  ready: boolean;
  /** Its HealthMonitor's verdict on itself. */
  healthy: boolean;
  /** Why it is not ready or not healthy, in words an operator can act on; empty when it is both. */
  reasons: string[];
  /** Its EL's head and the committed head it sees, decimal (bigints do not survive every backend's JSON). */
  elHead: string | null;
  committedHead: string | null;
  paused: boolean;
  /** Writer's wall clock (ms), for display only. */
  at: number;
}
