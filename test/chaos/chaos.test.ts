import test from 'ava';
import { chaosDir } from './cluster.js';
import { ACTOR_KINDS, FAULT_KINDS } from './faults.js';
import { formatSummary, runChaos } from './harness.js';

/**
 * The CI-sized chaos run (issues 9, 16): a fixed seed, the etcd lease backend (so the etcd member
 * kill is among the faults), the first round only — every fault kind once (the execution client's
 * and PostgreSQL's among them) and every actor kind crashed once, which the schedule finishes
 * however long it takes — then the checker over everything recorded, the 5 s pause rule included.
 * Any violation fails the test and is named.
 */
const SEED = 20261122;
const FAULT_PHASE_MS = 30_000;

test('chaos: no fork, no loss, self-healing under every fault kind (fixed seed)', async (t) => {
  t.timeout(12 * 60_000);
  const summary = await runChaos({ durationMs: FAULT_PHASE_MS, seed: SEED, leaseBackend: 'etcd', dir: await chaosDir(), log: (line) => t.log(line) });
  t.log(formatSummary(summary));
  t.deepEqual(summary.violations, [], 'the checker found no violation');
  for (const kind of FAULT_KINDS) t.true((summary.faults.byKind[kind] ?? 0) >= 1, `${kind} was injected`);
  for (const actor of ACTOR_KINDS) t.true((summary.faults.actorCrashes[actor] ?? 0) >= 1, `${actor} was crashed`);
  t.true(summary.failovers.leaderChanges >= 1, 'leadership moved at least once');
  t.true(summary.transactions.finalized > 0, 'transactions were finalized through the faults');
});
