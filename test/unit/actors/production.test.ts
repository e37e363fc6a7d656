/**
 * The `production` subtree (Publisher, then Builder) as the node wires it, on the in-memory EL and
 * store, with an in-test Elector that hands out the term and answers `tellLeadership`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import type { ElectorMsg, LeadershipMsg } from '../../../src/actors/messages.js';
import { actors } from '../../../src/node/tree.js';
import type { CodedError } from '../../../src/runtime/errors.js';
import { eventually, publishingBreaks, standIn, storeChainBreaks, testNode, withDeadlines } from '../../helpers/actorTree.js';
import { MemoryEl } from '../../helpers/memoryEl.js';
import { MemoryStore } from '../../helpers/memoryStore.js';

/** 50 ms blocks: a build waits 25 ms, so a test sees a dozen blocks in well under a second. */
const FLAGS = ['--role', 'leader', '--instance-id', 'node-a', '--block-time', '50ms'];
/** The term the tests lead in; its lease outlives every test. */
const EPOCH = 2n;

/**
 * The Elector's place, held by the test: `lead` starts a term (told to the Builder as the Elector
 * would), a restarted Builder's `tellLeadership` and the Publisher's `leaseDeadline` are answered
 * with it, and `stepDown` is recorded.
 */
function electorStandIn() {
  let term: { epoch: bigint; validUntil: number } | null = null;
  const stepDowns: string[] = [];
  let asked = 0;
  let deadlineAsks = 0;
  const standing = (): LeadershipMsg => (term ? { type: 'leadershipAcquired', ...term } : { type: 'notLeading' });
  const { spec } = standIn<ElectorMsg>(actors.elector, {
    handle(msg, ctx) {
      switch (msg.type) {
        case 'tellLeadership':
          asked++;
          ctx.send(msg.to, standing());
          break;
        case 'leaseDeadline':
          deadlineAsks++;
          ctx.reply(term?.epoch === msg.epoch ? term.validUntil : null);
          break;
        case 'stepDown':
          stepDowns.push(msg.reason);
          term = null;
          break;
        default:
          break;
      }
    },
  });
  return {
    spec,
    stepDowns,
    asked: () => asked,
    deadlineAsks: () => deadlineAsks,
    lead(epoch: bigint): LeadershipMsg {
      term = { epoch, validUntil: performance.now() + 3_600_000 };
      return standing();
    },
  };
}

async function production(t: ExecutionContext, opts: { el?: MemoryEl; store?: MemoryStore; deadlines?: Record<string, number> } = {}) {
  const node = testNode(t, FLAGS, opts);
  const elector = electorStandIn();
  const sup = await node.start([elector.spec, withDeadlines(node.spec('production'), opts.deadlines ?? {})]);
  const lead = (epoch = EPOCH) => sup.send(actors.builder, elector.lead(epoch));
  const head = () => node.store.all().at(-1)?.number ?? 0n;
  const builds = () => node.el.callsOf('forkchoiceUpdatedV3').filter((c) => c.building);
  return { ...node, sup, elector, lead, head, builds };
}

test('given leadership, the Builder replays the committed chain into its EL and builds on the committed head, committing in order with its epoch', async (t) => {
  // A predecessor committed three blocks at epoch 1; this node's EL has only genesis.
  const store = new MemoryStore();
  const predecessor = await new MemoryEl().produce(3);
  for (const b of predecessor) await store.commitBlock({ ...b.summary, payloadData: b.payloadData, requestsData: b.requestsData }, 1n, 'node-old');
  const p = await production(t, { store });
  p.lead();
  await eventually('six blocks committed', () => p.head() >= 6n);

  const chain = p.store.all();
  t.deepEqual(storeChainBreaks(p.store), []);
  t.deepEqual(
    chain.slice(0, 3).map((b) => b.hash),
    predecessor.map((b) => b.summary.hash),
    'the committed chain is kept',
  );
  for (const b of chain.slice(3)) {
    t.is(b.epoch, EPOCH, `block ${b.number} carries the term's epoch`);
    t.is(b.leader, 'node-a', `block ${b.number} names its committer`);
  }
  t.is(chain[3]!.parentHash, predecessor[2]!.summary.hash, 'the first block of the term is built on the committed head');
  t.is(await p.store.fenceEpoch(), EPOCH);
  t.is((await p.el.getBlockByNumber(3))?.hash, predecessor[2]!.summary.hash, 'the EL was given the committed blocks it lacked');
  t.deepEqual(publishingBreaks(p.sink, p.store, 4n), [], 'published after commit, in order, none of the predecessor’s');
  t.true(p.report.producerStates().includes('producing'));
});

test('the term’s first write raises the fence: a deposed leader’s late commit is refused before this term commits anything', async (t) => {
  const predecessorEl = new MemoryEl();
  const [one, two] = await predecessorEl.produce(2);
  const store = new MemoryStore();
  await store.commitBlock({ ...one!.summary, payloadData: one!.payloadData, requestsData: one!.requestsData }, 1n, 'node-old');
  const p = await production(t, { store });
  // This node's EL does not answer yet: the Builder gets no further than the fence and the head.
  p.el.failNext('getBlockByNumber', { times: Infinity });
  p.lead();
  await eventually('the Builder tried to resume', () => p.el.callsOf('getBlockByNumber').length > 0);

  const late = store.commitBlock({ ...two!.summary, payloadData: two!.payloadData, requestsData: two!.requestsData }, 1n, 'node-old');
  t.is((await t.throwsAsync<CodedError>(late))?.code, 'STALE_EPOCH');
  t.is(p.head(), 1n);
  p.el.clearFaults();
  await eventually('this term’s first block', () => p.head() >= 2n);
  t.is((await p.store.getByNumber(2n))?.epoch, EPOCH);
});

test('a block the EL built but nobody committed is discarded: the Builder moves the EL back to the committed head', async (t) => {
  const el = new MemoryEl();
  const store = new MemoryStore();
  const blocks = await el.produce(4);
  for (const b of blocks.slice(0, 3)) await store.commitBlock({ ...b.summary, payloadData: b.payloadData, requestsData: b.requestsData }, 1n, 'node-old');
  const p = await production(t, { el, store });
  p.lead();
  await eventually('block 5 committed', () => p.head() >= 5n);

  t.deepEqual(storeChainBreaks(p.store), []);
  const four = (await p.store.getByNumber(4n))!;
  t.not(four.hash, blocks[3]!.summary.hash, 'the uncommitted block 4 is not what was committed at 4');
  t.is(four.parentHash, blocks[2]!.summary.hash);
  t.is((await p.el.getBlockByNumber(4))?.hash, four.hash, 'the EL’s canonical chain is the committed one');
});

test('a fence raised to a higher epoch makes the Builder step down and stop building', async (t) => {
  const p = await production(t);
  p.lead();
  await eventually('two blocks committed', () => p.head() >= 2n);
  await p.store.raiseFence(EPOCH + 1n);
  await eventually('the Builder asked the Elector to step down', () => p.elector.stepDowns.length > 0);
  const headAtStepDown = p.head();
  const buildsAtStepDown = p.builds().length;

  // Nothing to wait for: a stopped Builder does nothing. Ten block times of nothing is the proof.
  await new Promise((resolve) => setTimeout(resolve, 10 * p.o.blockTimeMs));
  t.deepEqual(p.elector.stepDowns, ['fenced out by a newer epoch']);
  t.is(p.head(), headAtStepDown, 'nothing committed after the fence moved');
  t.is(p.builds().length, buildsAtStepDown, 'no build started after stepping down');
  t.is(p.report.current.producer.state, 'following');
  t.deepEqual(p.sup.restartCounts(), { elector: 0, publisher: 0, builder: 0, healthMonitor: 0 }, 'a refused commit is an answer, not a crash');
});

test('a crashed Builder is restarted, asks the Elector where leadership stands and resumes in the same term: no block lost or duplicated', async (t) => {
  const p = await production(t);
  p.lead();
  await eventually('three blocks committed', () => p.head() >= 3n);
  p.sup.injectFault('builder', 'throw');
  await eventually('the Builder restarted', () => p.sup.restartCounts().builder === 1);
  const headAtCrash = p.head();
  await eventually('three more blocks committed', () => p.head() >= headAtCrash + 3n);

  t.is(p.elector.asked(), 2, 'asked at its first start and after the restart');
  t.deepEqual(storeChainBreaks(p.store), []);
  t.true(
    p.store.all().every((b) => b.epoch === EPOCH),
    'every block of the same term',
  );
  t.is(await p.store.fenceEpoch(), EPOCH, 'the lease and the fence untouched');
  t.deepEqual(publishingBreaks(p.sink, p.store), [], 'every committed block published, in order');
  t.is(p.sup.restartCounts().publisher, 0, 'the Publisher is not restarted with the Builder');
});

test('a failing forkchoiceUpdated is retried with backoff and production resumes, without a restart', async (t) => {
  const p = await production(t);
  p.lead();
  await eventually('two blocks committed', () => p.head() >= 2n);
  // Only the builds' forkchoiceUpdated (with attributes) fail, not the Publisher's move of the head.
  p.el.failNext('forkchoiceUpdatedV3', { times: 2, match: (_state, attributes) => attributes != null });
  await eventually('two failed builds', () => p.builds().filter((c) => c.outcome === 'failed').length === 2);
  const headAtFailure = p.head();
  await eventually('production resumed', () => p.head() >= headAtFailure + 2n);

  const builds = p.builds();
  const first = builds.findIndex((c) => c.outcome === 'failed');
  const [failed1, failed2, retried] = builds.slice(first, first + 3);
  t.is(failed2!.outcome, 'failed');
  t.is(retried!.outcome, 'ok');
  // The Builder's backoff: 250 ms, then 500 ms (timers may fire a millisecond early).
  t.true(failed2!.at - failed1!.at >= 249, `first retry after ${failed2!.at - failed1!.at} ms`);
  t.true(retried!.at - failed2!.at >= 499, `second retry after ${retried!.at - failed2!.at} ms`);
  t.true(
    p.report.producerStates().some((s) => s.startsWith('stalled: ENGINE_UNREACHABLE')),
    'the stall is reported with its cause',
  );
  t.is(p.report.current.producer.state, 'producing');
  t.is(p.sup.restartCounts().builder, 0);
  t.deepEqual(storeChainBreaks(p.store), []);
});

test('an EL call that never answers is cut by the Builder’s deadline; the restarted Builder resumes the term', async (t) => {
  const p = await production(t, { deadlines: { builder: 300 } });
  p.lead();
  await eventually('two blocks committed', () => p.head() >= 2n);
  p.el.hangNext('getPayloadV4');
  await eventually('the Builder restarted', () => p.sup.restartCounts().builder === 1);
  const headAtRestart = p.head();
  await eventually('production resumed', () => p.head() >= headAtRestart + 2n);

  const hung = p.el.callsOf('getPayloadV4').filter((c) => c.outcome === 'aborted');
  t.is(hung.length, 1, 'the hung call was aborted by the Builder’s signal when its deadline passed');
  t.is(p.elector.asked(), 2);
  t.deepEqual(storeChainBreaks(p.store), []);
  t.true(p.store.all().every((b) => b.epoch === EPOCH));
  t.is(p.sup.restartCounts().publisher, 0);
});

test('a block its own EL calls INVALID is not committed or published: the Publisher refuses it, the Builder retries', async (t) => {
  const p = await production(t);
  p.lead();
  await eventually('two blocks committed', () => p.head() >= 2n);
  p.el.answerNext('newPayloadV4', 'INVALID', { validationError: 'bad block' });
  await eventually('the refusal', () => p.el.callsOf('newPayloadV4').some((c) => c.outcome === 'INVALID'));
  const headAtRefusal = p.head();
  const refused = p.el.callsOf('newPayloadV4').find((c) => c.outcome === 'INVALID')!.block!;
  t.is(refused.number, headAtRefusal + 1n, 'not committed');
  await eventually('production resumed', () => p.head() >= headAtRefusal + 2n);

  t.true(
    p.report.producerStates().some((s) => s.startsWith('stalled: EL_REJECTED')),
    'reported with its cause',
  );
  t.deepEqual(storeChainBreaks(p.store), []);
  t.deepEqual(publishingBreaks(p.sink, p.store), []);
  t.deepEqual(p.sup.restartCounts(), { elector: 0, publisher: 0, builder: 0, healthMonitor: 0 }, 'a refused commit is an answer, not a crash');
});

test('a sink that fails is reported as a problem, production goes on, and the next publish clears it', async (t) => {
  const p = await production(t);
  p.lead();
  await eventually('two blocks committed', () => p.head() >= 2n);
  p.sink.failNext = 1;
  await eventually('the failure reported', () => p.report.history.some((e) => e.kind === 'problem' && e.component === 'feed' && e.reason !== null));
  const failedAt = p.head();
  await eventually('two more blocks', () => p.head() >= failedAt + 2n);

  const reason = p.report.history.find((e) => e.kind === 'problem' && e.component === 'feed' && e.reason !== null);
  t.regex(reason?.kind === 'problem' ? (reason.reason ?? '') : '', /publishing block \d+ failed: feed: injected failure/);
  t.is(p.report.current.problems.feed, undefined, 'cleared by the next publish');
  t.deepEqual(storeChainBreaks(p.store), [], 'committed regardless');
  t.is(p.sup.restartCounts().publisher, 0);
});

test('a restarted Publisher drops its last incarnation’s sink problem: a failed publish of an ended term does not keep the node unhealthy', async (t) => {
  const p = await production(t);
  p.lead();
  await eventually('two blocks committed', () => p.head() >= 2n);
  p.sink.failNext = 1_000;
  await eventually('the failure reported', () => p.report.current.problems.feed !== undefined);
  // The term ends at the Elector, and the Publisher and Builder are restarted before the Builder
  // hears of it: no `termEnded` reaches the Publisher.
  p.sup.send(actors.elector, { type: 'stepDown', reason: 'test: term over' });
  p.el.hangNext('newPayloadV4');
  await eventually('the Publisher restarted', () => p.sup.restartCounts().publisher === 1, 10_000);
  const feedProblems = () => p.report.history.filter((e) => e.kind === 'problem' && e.component === 'feed');
  const firstFailure = feedProblems().findIndex((e) => e.kind === 'problem' && e.reason !== null);
  // Every publish still fails: only the new incarnation's start can clear it.
  await eventually('the problem cleared', () =>
    feedProblems()
      .slice(firstFailure)
      .some((e) => e.kind === 'problem' && e.reason === null),
  );
  t.true(p.elector.asked() >= 2, 'the restarted Builder asked where leadership stands');
});

/** Production with the node's own deadlines until the EL's next newPayload (the Publisher's) hangs and the Publisher has been restarted. */
async function publisherHang(t: ExecutionContext) {
  const p = await production(t);
  p.lead();
  await eventually('two blocks committed', () => p.head() >= 2n);
  p.el.hangNext('newPayloadV4');
  await eventually('the Publisher restarted', () => p.sup.restartCounts().publisher === 1, 10_000);
  return p;
}

test('a Publisher that hangs on the EL is cut by its deadline and restarted with the Builder behind it; the block in flight is committed once and published', async (t) => {
  const p = await publisherHang(t);
  const headAtRestart = p.head();
  await eventually('production resumed', () => p.head() >= headAtRestart + 2n);

  t.is(p.el.callsOf('newPayloadV4').filter((c) => c.outcome === 'aborted').length, 1, 'the hung newPayload was aborted');
  t.deepEqual(storeChainBreaks(p.store), []);
  t.true(p.store.all().every((b) => b.epoch === EPOCH));
  t.deepEqual(publishingBreaks(p.sink, p.store), [], 'every committed block published, in order');
});

// The Builder waits for the commit only within its own deadline: a hung Publisher is a failed slot
// for it, and only the Publisher's deadline restarts them (once), not a deadline of the Builder's.
test('a hung Publisher restarts the Builder once, with it', async (t) => {
  const p = await publisherHang(t);
  t.is(p.sup.restartCounts().builder, 1);
});

/** An in-memory EL whose `newPayloadV4` answers only after `delayMs`: a Publisher's validation that outlasts the Builder's lease snapshot. */
class SlowValidationEl extends MemoryEl {
  constructor(private readonly delayMs: number) {
    super();
  }

  override async newPayloadV4(...args: Parameters<MemoryEl['newPayloadV4']>): ReturnType<MemoryEl['newPayloadV4']> {
    await sleep(this.delayMs);
    return super.newPayloadV4(...args);
  }
}

test('a commit whose lease snapshot passed during a slow build is committed when the Elector has renewed the term', async (t) => {
  const p = await production(t, { el: new SlowValidationEl(300) });
  p.elector.lead(EPOCH); // the Elector's view: the term runs for an hour (renewed)
  // The Builder's view, as at a slot's start before a renewal reached it: 150 ms left, enough to
  // start a build (the guard is one block time), not to outlast the Publisher's 300 ms validation.
  p.sup.send(actors.builder, { type: 'leadershipAcquired', epoch: EPOCH, validUntil: performance.now() + 150 });
  await eventually('block 1 committed', () => p.head() >= 1n);
  t.true(p.elector.deadlineAsks() >= 1, 'the Publisher asked the Elector for the current deadline');
  t.is((await p.store.getByNumber(1n))?.epoch, EPOCH);
  t.deepEqual(p.elector.stepDowns, [], 'no step-down');
});

test('a commit whose lease snapshot passed is refused when the Elector says the term is over', async (t) => {
  const p = await production(t, { el: new SlowValidationEl(300) });
  // The Elector holds no term (lost, never told to the Builder in time).
  p.sup.send(actors.builder, { type: 'leadershipAcquired', epoch: EPOCH, validUntil: performance.now() + 150 });
  await eventually('the Publisher asked for the deadline', () => p.elector.deadlineAsks() >= 1);
  await sleep(500);
  t.is(p.head(), 0n, 'nothing committed in a term that is over');
  t.is(p.sink.published.length, 0, 'nothing published');
});
