/**
 * The HealthMonitor on a file lease and the in-memory EL, with in-test stand-ins for the Syncer
 * and the Elector it tells. Built by hand with the node's refs and modules: its probe period is a
 * constant of the node (1 s), and these tests probe every 50 ms.
 */
import { writeFile } from 'node:fs/promises';
import test, { type ExecutionContext } from 'ava';
import pino from 'pino';
import { healthMonitorActor } from '../../../src/actors/healthMonitor.js';
import type { ElectorMsg, LeadershipMsg, SyncerMsg } from '../../../src/actors/messages.js';
import { FileLease } from '../../../src/adapters/lease/file.js';
import type { LeaseBackend } from '../../../src/adapters/lease/interface.js';
import type { Mempool } from '../../../src/adapters/mempool/interface.js';
import { actors } from '../../../src/node/tree.js';
import type { ChildSpec } from '../../../src/runtime/actor.js';
import type { NodeHealthRecord } from '../../../src/types/health.js';
import { eventually, standIn, testNode } from '../../helpers/actorTree.js';

const INTERVAL_MS = 50;

/** The thresholds under test: two failed EL calls, three 50 ms blocks without a commit, no minimum term. */
const THRESHOLDS = { elFailures: 2, maxBlockGapMs: 150, productionFailures: 3, minTermMs: 0, holdOffMs: 1_000 };

async function monitor(
  t: ExecutionContext,
  opts: {
    mempool?: Pick<Mempool, 'sizes'>;
    backend?: (real: LeaseBackend) => LeaseBackend;
    deadlineMs?: number;
    leaderCapable?: boolean;
    startPaused?: boolean;
    /** What the Elector stand-in answers a `tellLeadership` with; unanswered when omitted. */
    standing?: () => LeadershipMsg;
  } = {},
) {
  const node = testNode(t, ['--role', 'leader', '--instance-id', 'node-a']);
  const syncer = standIn<SyncerMsg>(actors.syncer);
  const elector = standIn<ElectorMsg>(actors.elector, {
    handle: (msg, ctx) => {
      if (msg.type === 'tellLeadership' && opts.standing) ctx.send(msg.to, opts.standing());
    },
  });
  const spec: ChildSpec = {
    id: actors.healthMonitor.id,
    restart: 'permanent',
    shutdownMs: 1_000,
    // As the node derives it from the probe period: twice the period and a second more.
    handlerTimeoutMs: opts.deadlineMs ?? 2 * INTERVAL_MS + 1_000,
    start: () =>
      healthMonitorActor(
        {
          identity: 'node-a',
          leaderCapable: opts.leaderCapable ?? true,
          intervalMs: INTERVAL_MS,
          recordTtlMs: 3 * INTERVAL_MS,
          clusterEveryProbes: 5,
          thresholds: THRESHOLDS,
          startPaused: opts.startPaused ?? false,
        },
        {
          backend: opts.backend?.(node.backend) ?? node.backend,
          engine: node.el,
          store: node.store,
          report: node.report,
          mempool: opts.mempool,
          elector: actors.elector,
          syncer: actors.syncer,
        },
      ),
  };
  const sup = await node.start([syncer.spec, elector.spec, spec]);
  const gates = () => elector.received.filter((m): m is Extract<ElectorMsg, { type: 'campaignGate' }> => m.type === 'campaignGate');
  const leaders = () => syncer.received.filter((m) => m.type === 'leader');
  return { ...node, sup, syncer, elector, gates, leaders };
}

test('each probe reports the lease holder and the EL head, tells the Syncer who leads and the Elector it may campaign', async (t) => {
  const m = await monitor(t);
  await m.el.produce(2);
  const other = new FileLease({ path: m.leasePath }, { logger: pino({ level: 'silent' }) });
  await other.tryAcquire('node-b', 60_000, AbortSignal.timeout(5_000), { apiUrl: 'http://node-b:8090' });
  await eventually('three probes that saw node-b', () => m.leaders().filter((l) => l.leader?.holder === 'node-b').length >= 3);

  const seen = m.leaders().filter((l) => l.leader !== null);
  t.deepEqual(seen.at(-1), { type: 'leader', leader: { holder: 'node-b', epoch: 1n, apiUrl: 'http://node-b:8090' } });
  t.true(m.gates().length >= m.leaders().length - 1, 'the Elector is told on every probe too');
  t.true(
    m.gates().every((g) => g.may),
    'a ready node may campaign',
  );
  const s = m.report.current;
  t.is(s.holder, 'node-b');
  t.is(s.holderEpoch, 1n);
  t.is(s.leaderApiUrl, 'http://node-b:8090');
  t.deepEqual(s.elHead, { number: 2n, hash: m.el.head.hash });
  t.deepEqual(s.problems, {});
});

test('an EL that fails makes it report problems.el and keep the Elector from campaigning; both clear when the EL answers again', async (t) => {
  const m = await monitor(t);
  await eventually('a first probe', () => m.gates().length >= 1);
  m.el.failNext('getBlockByNumber', { times: Infinity });
  await eventually('problems.el reported', () => m.report.current.problems.el !== undefined);

  t.regex(m.report.current.problems.el!, /execution client unreachable: .*ENGINE_UNREACHABLE/);
  await eventually('the Elector told not to campaign', () => m.gates().some((g) => !g.may));
  t.regex(m.gates().find((g) => !g.may)?.reason ?? '', /execution client unreachable \(2 calls failed\)/);

  m.el.clearFaults();
  await eventually('problems.el cleared', () => m.report.current.problems.el === undefined);
  await eventually('the Elector told it may campaign again', () => m.gates().at(-1)?.may === true);
  t.is(m.sup.restartCounts().healthMonitor, 0);
});

test('an EL that never answers is cut by the probe’s own bound, reported, and the HealthMonitor keeps probing', async (t) => {
  const m = await monitor(t);
  await eventually('a first probe', () => m.gates().length >= 1);
  m.el.hangNext('getBlockByNumber');
  // The next probe follows at once (the hung one used up its period): the report's history has both.
  const elProblems = () => m.report.history.filter((e) => e.kind === 'problem' && e.component === 'el').map((e) => e.kind === 'problem' && e.reason);
  await eventually('problems.el reported, then cleared', () => elProblems().some((r) => r !== null) && elProblems().at(-1) === null);
  t.regex(elProblems().find((r) => r !== null) || '', /execution client unreachable: .*aborted/);

  t.deepEqual(
    m.el
      .callsOf('getBlockByNumber')
      .filter((c) => c.outcome === 'hung' || c.outcome === 'aborted')
      .map((c) => c.outcome),
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
  const probes = m.gates().length;
  await eventually('two more probes', () => m.gates().length >= probes + 2);

  t.regex(m.report.current.problems.lease!, /lease backend unreachable: .*not a valid lease/);
  t.is(m.leaders().length, told, 'no leader news while the backend cannot say');
});

/** A shared mempool whose first `sizes()` never answers (Redis stopped mid-reply; it takes no signal), then answers. */
function mempoolHangingOnce(): Pick<Mempool, 'sizes'> {
  let calls = 0;
  return { sizes: () => (calls++ === 0 ? new Promise(() => {}) : Promise.resolve({ pending: 1, queued: 0, inflight: 0, finalized: 0, dropped: 0 })) };
}

// `sizes()` takes no signal: the probe stops waiting for it at its bound, so a mempool that does
// not answer cannot hold the probe to the HealthMonitor's deadline (a crash, and a stale /health).
test('a mempool that never answers is cut by the probe’s bound, not by the HealthMonitor’s deadline', async (t) => {
  const m = await monitor(t, { mempool: mempoolHangingOnce(), deadlineMs: 300 });
  await eventually('the mempool reported', () => m.report.current.mempool !== null);
  t.is(m.sup.restartCounts().healthMonitor, 0);
});

// A probe that crashes is handed to the next incarnation (the supervisor retries the crashing
// message once), whose `init` starts a probe loop of its own: the handed-over probe carries the old
// incarnation and is dropped, so there is still one loop.
test('a HealthMonitor restarted by a crash in a probe keeps one probe loop', async (t) => {
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

/** Health records kept in memory beside a file lease (which shares none), with their TTLs: the multi-node backends' contract. */
function withHealthRecords(real: LeaseBackend): LeaseBackend & { records: Map<string, { record: NodeHealthRecord; until: number }> } {
  const records = new Map<string, { record: NodeHealthRecord; until: number }>();
  return {
    tryAcquire: (...a) => real.tryAcquire(...a),
    renew: (...a) => real.renew(...a),
    release: (...a) => real.release(...a),
    current: (signal) => real.current(signal),
    records,
    async publishHealth(record, ttlMs) {
      records.set(record.id, { record, until: performance.now() + ttlMs });
    },
    async healthRecords() {
      return [...records.values()].filter((r) => r.until > performance.now()).map((r) => r.record);
    },
  };
}

const standbyRecord = (ready: boolean): NodeHealthRecord => ({
  id: 'node-b',
  ready,
  healthy: ready,
  reasons: ready ? [] : ['its execution client is at block 0, behind the committed head 9'],
  elHead: '9',
  committedHead: '9',
  paused: false,
  at: Date.now(),
});

async function leadingMonitor(t: ExecutionContext, standby: NodeHealthRecord | null) {
  let backend!: ReturnType<typeof withHealthRecords>;
  const m = await monitor(t, { backend: (real) => (backend = withHealthRecords(real)) });
  if (standby) backend.records.set(standby.id, { record: standby, until: Number.POSITIVE_INFINITY });
  m.sup.send(actors.healthMonitor, { type: 'leadershipAcquired', epoch: 4n, validUntil: performance.now() + 60_000 });
  m.sup.send(actors.healthMonitor, { type: 'committed', number: 1n });
  const stepDowns = () => m.elector.received.filter((msg) => msg.type === 'stepDown');
  return { ...m, backend, stepDowns };
}

test('an unhealthy leader with a ready standby asks the Elector to step down, once, with the hold-off; its record says it is not ready', async (t) => {
  const m = await leadingMonitor(t, standbyRecord(true));
  // A leader is not a standby to hand over to: its record says so once it knows it leads.
  await eventually('the leader publishes a record that is not ready', () => m.backend.records.get('node-a')?.record.ready === false);
  t.true(m.backend.records.get('node-a')!.record.healthy, 'though healthy');
  m.el.failNext('getBlockByNumber', { times: Infinity });
  await eventually('a step-down', () => m.stepDowns().length === 1);
  const stepDown = m.stepDowns()[0]!;
  t.true(stepDown.type === 'stepDown' && stepDown.holdOffMs === THRESHOLDS.holdOffMs);
  t.regex(stepDown.type === 'stepDown' ? stepDown.reason : '', /^unhealthy: execution client unreachable/);
  await new Promise((resolve) => setTimeout(resolve, 5 * INTERVAL_MS));
  t.is(m.stepDowns().length, 1, 'one step-down per term');
  t.like(m.report.current.health, { verdict: 'unhealthy', staying: 'stepping down' });
  t.is(m.report.current.health?.stepDowns[0]?.to, 'node-b');
});

test('an unhealthy leader with no ready standby stays, keeps its lease and says why', async (t) => {
  const m = await leadingMonitor(t, standbyRecord(false));
  m.el.failNext('getBlockByNumber', { times: Infinity });
  await eventually('the reason reported', () => m.report.current.health?.staying?.includes('no ready standby') ?? false);
  await new Promise((resolve) => setTimeout(resolve, 5 * INTERVAL_MS));
  t.is(m.stepDowns().length, 0);
  t.deepEqual(
    m.report.current.health?.standbys.map((s) => [s.id, s.ready]),
    [['node-b', false]],
  );
});

test('a leader that commits nothing for longer than the block gap is unhealthy, though its EL answers', async (t) => {
  const m = await leadingMonitor(t, standbyRecord(true));
  await eventually('a step-down for lack of commits', () => m.stepDowns().length === 1, 5_000);
  const stepDown = m.stepDowns()[0]!;
  t.regex(stepDown.type === 'stepDown' ? stepDown.reason : '', /no block committed for/);
});

// The monitor learns of a term from the Elector's messages. A restart (a probe that outlived its
// deadline on a loaded box) must not make it forget the term its node holds: it would then judge a
// leader whose EL hangs as a standby, and never hand over.
test('a HealthMonitor restarted while its node leads asks the Elector for the term, and still hands a sick leader over', async (t) => {
  let crashNext = false;
  let backend: ReturnType<typeof withHealthRecords> | undefined;
  const term = { epoch: 4n, validUntil: performance.now() + 60_000 };
  const m = await monitor(t, {
    // Called at every (re)start: one record store for both incarnations, as a real backend is.
    backend: (real) => {
      const records = (backend ??= withHealthRecords(real));
      return {
        ...records,
        current: (signal) => {
          if (!crashNext) return records.current(signal);
          crashNext = false;
          throw new TypeError('adapter bug');
        },
      };
    },
    standing: () => ({ type: 'leadershipAcquired', ...term }),
  });
  backend!.records.set('node-b', { record: standbyRecord(true), until: Number.POSITIVE_INFINITY });
  m.sup.send(actors.healthMonitor, { type: 'leadershipAcquired', ...term });
  await eventually('the leader publishes a record that is not ready', () => backend!.records.get('node-a')?.record.ready === false);

  crashNext = true;
  await eventually('the HealthMonitor restarted', () => m.sup.restartCounts().healthMonitor === 1);
  t.is(m.elector.received.filter((msg) => msg.type === 'tellLeadership').length, 2, 'each incarnation asks');
  m.el.failNext('getBlockByNumber', { times: Infinity });
  await eventually('a step-down after the restart', () => m.elector.received.some((msg) => msg.type === 'stepDown'));
  t.regex(m.report.current.health?.staying ?? '', /stepping down/);
});

test('a HealthMonitor started on a paused node publishes a record that is paused and not ready', async (t) => {
  let backend!: ReturnType<typeof withHealthRecords>;
  await monitor(t, { startPaused: true, backend: (real) => (backend = withHealthRecords(real)) });
  await eventually('a record', () => backend.records.has('node-a'));
  t.like(backend.records.get('node-a')!.record, { paused: true, ready: false });
  t.true(backend.records.get('node-a')!.record.reasons.includes('paused by an operator'));
});
