/**
 * The HealthMonitor on a file lease and the in-memory EL, with in-test stand-ins for the Syncer
 * and the Elector it tells. Built by hand with the node's refs and modules: its probe period is a
 * constant of the node (1 s), and these tests probe every 50 ms.
 */
import { writeFile } from 'node:fs/promises';
import test, { type ExecutionContext } from 'ava';
import pino from 'pino';
import { healthMonitorActor } from '../../../src/actors/healthMonitor.js';
import type { ElectorMsg, SyncerMsg } from '../../../src/actors/messages.js';
import { FileLease } from '../../../src/adapters/lease/file.js';
import type { LeaseBackend } from '../../../src/adapters/lease/interface.js';
import type { Mempool } from '../../../src/adapters/mempool/interface.js';
import { actors } from '../../../src/node/tree.js';
import type { ChildSpec } from '../../../src/runtime/actor.js';
import { eventually, standIn, testNode } from '../../helpers/actorTree.js';

const INTERVAL_MS = 50;

async function monitor(t: ExecutionContext, opts: { mempool?: Pick<Mempool, 'sizes'>; backend?: (real: LeaseBackend) => LeaseBackend; deadlineMs?: number } = {}) {
  const node = testNode(t, ['--role', 'leader', '--instance-id', 'node-a']);
  const syncer = standIn<SyncerMsg>(actors.syncer);
  const elector = standIn<ElectorMsg>(actors.elector);
  const spec: ChildSpec = {
    id: actors.healthMonitor.id,
    restart: 'permanent',
    shutdownMs: 1_000,
    // As the node derives it from the probe period: twice the period and a second more.
    handlerTimeoutMs: opts.deadlineMs ?? 2 * INTERVAL_MS + 1_000,
    start: () =>
      healthMonitorActor(
        { intervalMs: INTERVAL_MS, clusterEveryProbes: 5 },
        { backend: opts.backend?.(node.backend) ?? node.backend, engine: node.el, report: node.report, mempool: opts.mempool, elector: actors.elector, syncer: actors.syncer },
      ),
  };
  const sup = await node.start([syncer.spec, elector.spec, spec]);
  const elHealth = () => elector.received.filter((m) => m.type === 'elHealth');
  const leaders = () => syncer.received.filter((m) => m.type === 'leader');
  return { ...node, sup, syncer, elector, elHealth, leaders };
}

test('each probe reports the lease holder and the EL head, tells the Syncer who leads and the Elector that the EL answers', async (t) => {
  const m = await monitor(t);
  await m.el.produce(2);
  const other = new FileLease({ path: m.leasePath }, { logger: pino({ level: 'silent' }) });
  await other.tryAcquire('node-b', 60_000, AbortSignal.timeout(5_000), { apiUrl: 'http://node-b:8090' });
  await eventually('three probes that saw node-b', () => m.leaders().filter((l) => l.leader?.holder === 'node-b').length >= 3);

  const seen = m.leaders().filter((l) => l.leader !== null);
  t.deepEqual(seen.at(-1), { type: 'leader', leader: { holder: 'node-b', epoch: 1n, apiUrl: 'http://node-b:8090' } });
  t.true(m.elHealth().length >= m.leaders().length - 1, 'the Elector is told on every probe too');
  t.true(
    m.elHealth().every((h) => h.type === 'elHealth' && h.problem === null),
    'the EL answers',
  );
  const s = m.report.current;
  t.is(s.holder, 'node-b');
  t.is(s.holderEpoch, 1n);
  t.is(s.leaderApiUrl, 'http://node-b:8090');
  t.deepEqual(s.elHead, { number: 2n, hash: m.el.head.hash });
  t.deepEqual(s.problems, {});
});

test('an EL that fails makes it tell the Elector and report problems.el; the problem clears when the EL answers again', async (t) => {
  const m = await monitor(t);
  await eventually('a first probe', () => m.elHealth().length >= 1);
  m.el.failNext('getBlockByNumber', { times: Infinity });
  await eventually('problems.el reported', () => m.report.current.problems.el !== undefined);

  t.regex(m.report.current.problems.el!, /execution client unreachable: .*ENGINE_UNREACHABLE/);
  await eventually('the Elector told', () => m.elHealth().some((h) => h.type === 'elHealth' && h.problem !== null));
  const told = m.elHealth().find((h) => h.type === 'elHealth' && h.problem !== null);
  t.is(told?.type === 'elHealth' ? told.problem : null, m.report.current.problems.el!);

  m.el.clearFaults();
  await eventually('problems.el cleared', () => m.report.current.problems.el === undefined);
  await eventually('the Elector told the EL answers', () => {
    const last = m.elHealth().at(-1);
    return last?.type === 'elHealth' && last.problem === null;
  });
  t.is(m.sup.restartCounts().healthMonitor, 0);
});

test('an EL that never answers is cut by the probe’s own bound, reported, and the HealthMonitor keeps probing', async (t) => {
  const m = await monitor(t);
  await eventually('a first probe', () => m.elHealth().length >= 1);
  m.el.hangNext('getBlockByNumber');
  // The next probe follows at once (the hung one used up its period): the report's history has both.
  const elProblems = () => m.report.history.filter((e) => e.kind === 'problem' && e.component === 'el').map((e) => e.kind === 'problem' && e.reason);
  await eventually('problems.el reported, then cleared', () => elProblems().some((r) => r !== null) && elProblems().at(-1) === null);
  t.regex(elProblems().find((r) => r !== null) || '', /execution client unreachable: .*aborted/);

  t.deepEqual(
    m.el.callsOf('getBlockByNumber').filter((c) => c.outcome === 'hung' || c.outcome === 'aborted').map((c) => c.outcome),
    ['aborted'],
    'the hung call was aborted by the probe’s signal',
  );
  t.is(m.sup.restartCounts().healthMonitor, 0, 'a hung dependency is not a hung HealthMonitor');
});

test('a lease backend that fails is reported as problems.lease, and the Syncer is not told a leader', async (t) => {
  const m = await monitor(t);
  await eventually('a first probe', () => m.leaders().length >= 1);
  await writeFile(m.leasePath, 'not a lease');
  await eventually('problems.lease reported', () => m.report.current.problems.lease !== undefined);
  const told = m.leaders().length;
  const probes = m.elHealth().length;
  await eventually('two more probes', () => m.elHealth().length >= probes + 2);

  t.regex(m.report.current.problems.lease!, /lease backend unreachable: .*not a valid lease/);
  t.is(m.leaders().length, told, 'no leader news while the backend cannot say');
});

/** A shared mempool whose first `sizes()` never answers (Redis stopped mid-reply; it takes no signal), then answers. */
function mempoolHangingOnce(): Pick<Mempool, 'sizes'> {
  let calls = 0;
  return { sizes: () => (calls++ === 0 ? new Promise(() => {}) : Promise.resolve({ pending: 1, inflight: 0, finalized: 0, dropped: 0 })) };
}

// Known bug: `sizes()` takes no signal and the probe awaits it with the others (allSettled), so a
// mempool that does not answer holds the probe past its bound, to the HealthMonitor's deadline: a
// crash and a restart, and /health is stale meanwhile.
test.failing('a mempool that never answers is cut by the probe’s bound, not by the HealthMonitor’s deadline (known bug: sizes() takes no signal)', async (t) => {
  const m = await monitor(t, { mempool: mempoolHangingOnce(), deadlineMs: 300 });
  await eventually('the mempool reported', () => m.report.current.mempool !== null);
  t.is(m.sup.restartCounts().healthMonitor, 0);
});

// Known bug: a probe that crashes is requeued to the next incarnation (the supervisor retries the
// crashing message once), whose `init` sends a probe of its own: two probe loops from then on, one
// more after every crash in a probe. (The Syncer's tick loop is started the same way.)
test.failing('a HealthMonitor restarted by a crash in a probe keeps one probe loop (known bug: the requeued probe and init’s start a second)', async (t) => {
  let crashes = 1;
  // A lease adapter with a bug that throws once: a crash in the probe, not a refusal.
  const throwingOnce = (real: LeaseBackend): LeaseBackend => ({
    tryAcquire: (...a) => real.tryAcquire(...a),
    renew: (...a) => real.renew(...a),
    release: (...a) => real.release(...a),
    current: (signal) => {
      if (crashes-- > 0) throw new TypeError('adapter bug');
      return real.current(signal);
    },
  });
  const m = await monitor(t, { backend: throwingOnce });
  await eventually('the HealthMonitor restarted', () => m.sup.restartCounts().healthMonitor === 1);
  await eventually('probing again', () => m.leaders().length > 0);
  const before = m.el.callsOf('getBlockByNumber').length;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 20 * INTERVAL_MS));
  const probes = m.el.callsOf('getBlockByNumber').length - before;
  const expected = (performance.now() - started) / INTERVAL_MS;
  t.true(probes <= expected + 2, `${probes} probes in ${Math.round(performance.now() - started)} ms, one per ${INTERVAL_MS} ms expected`);
});
