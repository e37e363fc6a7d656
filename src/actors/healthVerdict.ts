/**
 * The HealthMonitor's judgement, as pure functions of what it has seen: whether this node is
 * healthy, whether it could take over (ready), whether it may campaign, and whom a leader may hand
 * over to. Kept apart from the actor so each rule is tested on its own.
 */
import type { NodeHealthRecord } from '../types/health.js';

/** The thresholds of DESIGN §2's HealthMonitor (`--health-*` flags). */
export interface HealthThresholds {
  /** Consecutive failed EL calls (probes, or the Builder's Engine API calls) after which the EL counts as unreachable. */
  elFailures: number;
  /** A leader that committed no block for this long is not producing. */
  maxBlockGapMs: number;
  /** Consecutive failed builds or commits after which block production counts as failing. */
  productionFailures: number;
  /** A leader steps down for health no sooner than this after its term began: two sick nodes must not trade the lease back and forth. */
  minTermMs: number;
  /** After stepping down for health a node does not campaign for this long, and not until it is ready again. */
  holdOffMs: number;
}

/** What the monitor has seen, as the verdict needs it. */
export interface Observations {
  elFailures: number;
  elProblem: string | null;
  productionFailures: number;
  productionProblem: string | null;
  storeProblem: string | null;
  elHead: bigint | null;
  committedHead: bigint | null;
  paused: boolean;
  /** Until when (`performance.now()`) this node stays out of the race after stepping down for health; 0 when not. */
  heldOffUntil: number;
  /** This node's term, by its Elector: since when (`performance.now()`), and its last commit. */
  term: { epoch: bigint; since: number; lastCommitAt: number } | null;
}

export interface Verdict {
  healthy: boolean;
  /** Why not, in words an operator can act on. */
  reasons: string[];
}

/** Healthy: the EL answers, the database answers, and (leading) blocks are built and committed. */
export function judge(o: Observations, now: number, t: HealthThresholds): Verdict {
  const reasons: string[] = [];
  if (o.elFailures >= t.elFailures) reasons.push(`execution client unreachable (${o.elFailures} calls failed): ${o.elProblem}`);
  if (o.storeProblem) reasons.push(`database unreachable: ${o.storeProblem}`);
  if (o.term) {
    if (o.productionFailures >= t.productionFailures) reasons.push(`block production failing (${o.productionFailures} attempts): ${o.productionProblem}`);
    const quietMs = now - Math.max(o.term.since, o.term.lastCommitAt);
    if (quietMs > t.maxBlockGapMs) reasons.push(`no block committed for ${(quietMs / 1000).toFixed(1)} s`);
  }
  return { healthy: reasons.length === 0, reasons };
}

/** Ready to take over: healthy, not paused or held off, and its EL at (within one block of) the committed head. */
export function readiness(o: Observations, v: Verdict, now: number): Verdict {
  const reasons = [...v.reasons];
  if (o.paused) reasons.push('paused by an operator');
  if (now < o.heldOffUntil) reasons.push(`held off for ${((o.heldOffUntil - now) / 1000).toFixed(1)} s more after stepping down for health`);
  if (o.elHead === null) reasons.push('its execution client head is unknown');
  else if (o.committedHead !== null && o.elHead + 1n < o.committedHead)
    reasons.push(`its execution client is at block ${o.elHead}, behind the committed head ${o.committedHead}`);
  return { healthy: reasons.length === 0, reasons };
}

/**
 * Whether this node may campaign: when it is ready; or, when nobody holds the lease and no node is
 * ready, when at least its EL answers — the chain must not stop because every EL lags (the new
 * leader's Builder replays the committed blocks it lacks before building).
 */
export function mayCampaign(
  o: Observations,
  ready: Verdict,
  t: HealthThresholds,
  others: NodeHealthRecord[],
  leaseHeld: boolean,
): { may: boolean; reason: string | null } {
  if (ready.healthy) return { may: true, reason: null };
  const elAnswers = o.elFailures < t.elFailures && o.elHead !== null;
  if (!leaseHeld && !o.paused && elAnswers && !o.storeProblem && !others.some((r) => r.ready)) return { may: true, reason: null };
  return { may: false, reason: ready.reasons.join('; ') };
}

/** The standby to hand over to: any other node whose fresh record says it is ready (the lease race decides among several). */
export function handOverTarget(self: string, records: NodeHealthRecord[]): NodeHealthRecord | null {
  return records.find((r) => r.id !== self && r.ready) ?? null;
}

/** The `baton_failovers_total{reason}` label of a step-down, from its first reason. */
export function failoverReason(v: Verdict): 'el_unreachable' | 'database_unreachable' | 'production_failing' | 'no_commits' {
  const first = v.reasons[0] ?? '';
  if (first.startsWith('execution client')) return 'el_unreachable';
  if (first.startsWith('database')) return 'database_unreachable';
  if (first.startsWith('block production')) return 'production_failing';
  return 'no_commits';
}
