/**
 * The Elector actor as the node wires it, over a real file lease (no services), with in-test
 * stand-ins for its listeners: a Builder that asks `tellLeadership` at every start, as the real
 * one does, and a Syncer.
 */
import test, { type ExecutionContext } from 'ava';
import type { ElectorMsg, HealthMonitorMsg, LeadershipMsg } from '../../../src/actors/messages.js';
import { actors } from '../../../src/node/tree.js';
import { eventually, standIn, testNode } from '../../helpers/actorTree.js';

/** A 600 ms lease: renewed every 200 ms, campaigned for every 75 ms. */
const FLAGS = ['--role', 'leader', '--instance-id', 'node-a', '--lease-ttl', '600ms'];

type Heard = LeadershipMsg | { type: 'started' };

async function elector(t: ExecutionContext, opts: { flags?: string[]; paused?: boolean } = {}) {
  const node = testNode(t, opts.flags ?? FLAGS, { treeState: { paused: opts.paused ?? false } });
  /** What the Builder stand-in heard, with a mark at each of its starts. */
  const heard: Heard[] = [];
  const builder = standIn<LeadershipMsg>(actors.builder, {
    init(ctx) {
      heard.push({ type: 'started' });
      ctx.send(actors.elector, { type: 'tellLeadership', to: ctx.self });
    },
    handle(msg) {
      heard.push(msg);
    },
  });
  const syncer = standIn<LeadershipMsg>(actors.syncer);
  // The HealthMonitor stand-in answers whenever an Elector (re)starts or is paused and tells it so
  // (the real one answers at its next probe): ready, unless a test says otherwise.
  const gate = { may: true, reason: null as string | null };
  const monitor = standIn<HealthMonitorMsg>(actors.healthMonitor, {
    handle(msg, ctx) {
      if (msg.type === 'paused') ctx.send(actors.elector, { type: 'campaignGate', ...gate });
    },
  });
  const sup = await node.start([monitor.spec, node.spec('elector'), builder.spec, syncer.spec]);
  const ask = <R>(msg: ElectorMsg) => sup.ask<R, ElectorMsg>(actors.elector, msg, 5_000);
  const acquired = (epoch: bigint) =>
    heard.find((m): m is Extract<LeadershipMsg, { type: 'leadershipAcquired' }> => m.type === 'leadershipAcquired' && m.epoch === epoch);
  const current = () => node.backend.current(AbortSignal.timeout(5_000));
  return { ...node, sup, heard, syncer, ask, acquired, current, gate };
}

test('acquires the lease and tells every listener, with the epoch and a deadline that renewals extend', async (t) => {
  const e = await elector(t);
  await eventually('leadership acquired', () => e.acquired(1n) !== undefined);
  const first = e.acquired(1n)!;
  await eventually('a renewal', () => e.heard.some((m) => m.type === 'leaseExtended'));

  t.deepEqual(
    e.heard
      .slice(0, 2)
      .map((m) => m.type)
      .sort(),
    ['notLeading', 'started'],
    'a fresh Elector says it holds nothing',
  );
  t.true(first.validUntil > performance.now() - 600 && first.validUntil <= performance.now() + 600, 'the deadline is within one lease');
  const extended = e.heard.find((m) => m.type === 'leaseExtended')!;
  t.true(extended.type === 'leaseExtended' && extended.epoch === 1n && extended.validUntil > first.validUntil);
  await eventually('the Syncer told too', () => e.syncer.received.some((m) => m.type === 'leadershipAcquired' && m.epoch === 1n));
  t.deepEqual(await e.current(), { holder: 'node-a', epoch: 1n, meta: { apiUrl: 'http://node-a:8090' } }, 'the lease advertises the API');
  t.like(e.report.current, { isLeader: true, epoch: 1n, holder: 'node-a' });
});

test('a restarted listener’s tellLeadership is answered with the current term; the lease is untouched', async (t) => {
  const e = await elector(t);
  await eventually('leadership acquired', () => e.acquired(1n) !== undefined);
  e.sup.injectFault('builder', 'throw');
  await eventually('the Builder restarted', () => e.heard.filter((m) => m.type === 'started').length === 2);
  const restart = e.heard.map((m) => m.type).lastIndexOf('started');
  await eventually('an answer after the restart', () => e.heard.slice(restart).some((m) => m.type === 'leadershipAcquired'));

  const answer = e.heard.slice(restart).find((m) => m.type === 'leadershipAcquired')!;
  t.true(answer.type === 'leadershipAcquired' && answer.epoch === 1n, 'the same term');
  t.true(answer.type === 'leadershipAcquired' && answer.validUntil >= e.acquired(1n)!.validUntil, 'with its latest deadline');
  t.is((await e.current())?.epoch, 1n);
  t.is(e.sup.restartCounts().elector, 0);
});

test('setPaused releases the lease, tells the listeners and stops campaigning until resumed', async (t) => {
  const e = await elector(t);
  await eventually('leadership acquired', () => e.acquired(1n) !== undefined);
  t.deepEqual(await e.ask({ type: 'setPaused', paused: true }), { paused: true });

  t.is(await e.current(), null, 'released before the reply, not left to expire');
  await eventually('the listeners told', () => e.heard.some((m) => m.type === 'leadershipLost' && m.epoch === 1n));
  t.like(e.report.current, { paused: true, isLeader: false });
  t.regex(e.report.current.notCampaigning ?? '', /paused by an operator/);
  // Nothing to wait for while paused: eight retry periods of the lease staying free are the proof.
  await new Promise((resolve) => setTimeout(resolve, 8 * e.timings.retryIntervalMs));
  t.is(await e.current(), null);
  t.is(e.acquired(2n), undefined);

  await e.ask({ type: 'setPaused', paused: false });
  await eventually('leadership acquired again', () => e.acquired(2n) !== undefined);
  t.false(e.report.current.paused);
});

test('stepDown releases the lease and stays out of the race for the hold-off', async (t) => {
  const e = await elector(t);
  await eventually('leadership acquired', () => e.acquired(1n) !== undefined);
  const steppedDown = performance.now();
  e.sup.send(actors.elector, { type: 'stepDown', reason: 'fenced out by a newer epoch', holdOffMs: 300 });
  await eventually('the listeners told', () => e.heard.some((m) => m.type === 'leadershipLost'));
  await eventually('the lease released', async () => (await e.current()) === null);
  await eventually('leadership acquired again', () => e.acquired(2n) !== undefined);

  t.true(performance.now() - steppedDown >= 300, 'not before the hold-off');
});

test('a stepDown for a term this node no longer holds releases nothing and imposes no hold-off', async (t) => {
  const e = await elector(t);
  await eventually('leadership acquired', () => e.acquired(1n) !== undefined);
  // A Builder fenced out of epoch 0 (a term given up before its last commit failed) while this node leads epoch 1.
  await e.ask({ type: 'stepDown', reason: 'fenced out by a newer epoch', holdOffMs: 60_000, epoch: 0n });
  t.is((await e.current())?.epoch, 1n, 'the lease of the current term is still held');
  t.false(
    e.heard.some((m) => m.type === 'leadershipLost'),
    'no loss told',
  );
  // The same step-down for the current term does release.
  await e.ask({ type: 'stepDown', reason: 'fenced out by a newer epoch', holdOffMs: 300, epoch: 1n });
  await eventually('the lease released', async () => (await e.current()) === null);
});

test('a HealthMonitor that finds the node not ready keeps it from campaigning, and says so', async (t) => {
  const e = await elector(t, { paused: true });
  Object.assign(e.gate, { may: false, reason: 'execution client unreachable: down' });
  e.sup.send(actors.elector, { type: 'campaignGate', ...e.gate });
  await e.ask({ type: 'setPaused', paused: false });

  await eventually('the reason reported', () => e.report.current.notCampaigning === 'execution client unreachable: down');
  // Nothing to wait for: eight retry periods without a campaign are the proof.
  await new Promise((resolve) => setTimeout(resolve, 8 * e.timings.retryIntervalMs));
  t.is(await e.current(), null);
  Object.assign(e.gate, { may: true, reason: null });
  e.sup.send(actors.elector, { type: 'campaignGate', ...e.gate });
  await eventually('leadership acquired once the node is ready', () => e.acquired(1n) !== undefined);
});

test('a crashed Elector releases the lease on the way out, and its new incarnation wins a new term', async (t) => {
  // A 10 s lease: were it not released, the new incarnation would wait for it to expire.
  const e = await elector(t, { flags: ['--role', 'leader', '--instance-id', 'node-a', '--lease-ttl', '10s'] });
  await eventually('leadership acquired', () => e.acquired(1n) !== undefined);
  const crash = e.heard.length;
  e.sup.injectFault('elector', 'throw');
  await eventually('a new term, well before the old lease could expire', () => e.acquired(2n) !== undefined, 3_000);

  t.is(e.sup.restartCounts().elector, 1);
  const after = e.heard.slice(crash).map((m) => m.type);
  t.true(after.indexOf('notLeading') < after.indexOf('leadershipAcquired'), `the new incarnation says it holds nothing first: ${after.join(', ')}`);
  t.is((await e.current())?.epoch, 2n);
});
