/** The HealthMonitor's rules, one by one: healthy, ready, may campaign, whom to hand over to. */
import test from 'ava';
import { failoverReason, handOverTarget, judge, mayCampaign, type Observations, readiness } from '../../../src/actors/healthVerdict.js';
import type { NodeHealthRecord } from '../../../src/types/health.js';

const T = { elFailures: 2, maxBlockGapMs: 3_000, productionFailures: 3, minTermMs: 5_000, holdOffMs: 10_000 };
const fine: Observations = {
  elFailures: 0,
  elProblem: null,
  productionFailures: 0,
  productionProblem: null,
  storeProblem: null,
  elHead: 9n,
  committedHead: 9n,
  paused: false,
  heldOffUntil: 0,
  term: null,
};
const record = (id: string, ready: boolean): NodeHealthRecord => ({
  id,
  ready,
  healthy: ready,
  reasons: [],
  elHead: '9',
  committedHead: '9',
  paused: false,
  at: 0,
});

test('judge: the EL after elFailures failed calls, the database, and a leader quiet past the block gap or failing to produce', (t) => {
  t.deepEqual(judge(fine, 1_000, T), { healthy: true, reasons: [] });
  t.true(judge({ ...fine, elFailures: 1, elProblem: 'x' }, 1_000, T).healthy, 'one failed call is not enough');
  t.regex(judge({ ...fine, elFailures: 2, elProblem: 'ECONNREFUSED' }, 1_000, T).reasons[0]!, /execution client unreachable \(2 calls failed\): ECONNREFUSED/);
  t.regex(judge({ ...fine, storeProblem: 'timeout' }, 1_000, T).reasons[0]!, /database unreachable: timeout/);
  const leading = { ...fine, term: { epoch: 3n, since: 0, lastCommitAt: 1_000 } };
  t.true(judge(leading, 4_000, T).healthy, 'within the block gap of the last commit');
  t.regex(judge(leading, 4_100, T).reasons[0]!, /no block committed for 3\.1 s/);
  t.true(judge({ ...leading, term: { ...leading.term, lastCommitAt: 0, since: 2_000 } }, 4_500, T).healthy, 'a new term has the gap from its start');
  t.regex(judge({ ...leading, productionFailures: 3, productionProblem: 'EL_NOT_BUILDING' }, 1_500, T).reasons[0]!, /block production failing \(3 attempts\)/);
  t.true(judge({ ...fine, productionFailures: 9 }, 1_000, T).healthy, 'production failures count only while leading');
});

test('readiness: healthy, not paused, not held off, and the EL within one block of the committed head', (t) => {
  const ok = judge(fine, 0, T);
  t.true(readiness(fine, ok, 0).healthy);
  t.true(readiness({ ...fine, elHead: 8n }, ok, 0).healthy, 'one block behind is ready (one may be committing)');
  t.deepEqual(readiness({ ...fine, elHead: 7n }, ok, 0).reasons, ['its execution client is at block 7, behind the committed head 9']);
  t.deepEqual(readiness({ ...fine, paused: true }, ok, 0).reasons, ['paused by an operator']);
  t.regex(readiness({ ...fine, heldOffUntil: 4_000 }, ok, 1_000).reasons[0]!, /held off for 3\.0 s more/);
  t.deepEqual(readiness({ ...fine, elHead: null }, ok, 0).reasons, ['its execution client head is unknown']);
  t.false(readiness({ ...fine, elFailures: 5, elProblem: 'down' }, judge({ ...fine, elFailures: 5, elProblem: 'down' }, 0, T), 0).healthy);
});

test('mayCampaign: a ready node may; with the lease free and nobody ready, any node whose EL answers may, so a lagging cluster still resumes', (t) => {
  const behind = { ...fine, elHead: 2n };
  const notReady = readiness(behind, judge(behind, 0, T), 0);
  t.deepEqual(mayCampaign(fine, readiness(fine, judge(fine, 0, T), 0), T, [], true), { may: true, reason: null });
  t.deepEqual(
    mayCampaign(behind, notReady, T, [record('node-b', true)], false),
    { may: false, reason: 'its execution client is at block 2, behind the committed head 9' },
    'a ready node elsewhere',
  );
  t.false(mayCampaign(behind, notReady, T, [], true).may, 'the lease is held: follow the leader and catch up');
  t.true(mayCampaign(behind, notReady, T, [record('node-b', false)], false).may, 'free lease, nobody ready: this EL answers');
  const down = { ...behind, elFailures: 3, elProblem: 'down' };
  t.false(mayCampaign(down, readiness(down, judge(down, 0, T), 0), T, [], false).may, 'but not with an EL that does not answer');
  const paused = { ...behind, paused: true };
  t.false(mayCampaign(paused, readiness(paused, judge(paused, 0, T), 0), T, [], false).may, 'nor paused');
});

test('handOverTarget: another node whose record says ready; failoverReason labels by the first reason', (t) => {
  t.is(handOverTarget('node-a', [record('node-a', true), record('node-b', false)]), null, 'never itself, never an unready node');
  t.is(handOverTarget('node-a', [record('node-b', false), record('node-c', true)])?.id, 'node-c');
  t.is(failoverReason({ healthy: false, reasons: ['execution client unreachable (2 calls failed): x'] }), 'el_unreachable');
  t.is(failoverReason({ healthy: false, reasons: ['database unreachable: x'] }), 'database_unreachable');
  t.is(failoverReason({ healthy: false, reasons: ['block production failing (3 attempts): x'] }), 'production_failing');
  t.is(failoverReason({ healthy: false, reasons: ['no block committed for 3.1 s'] }), 'no_commits');
});
