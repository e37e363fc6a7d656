/**
 * The Executor of a member (it stores what it executes) as the node wires it, on the in-memory EL
 * and store; the test asks it what the Syncer asks, with blocks a leader's in-memory EL built.
 */
import test, { type ExecutionContext } from 'ava';
import type { SyncPosition } from '../../../src/actors/executor.js';
import type { ExecutorMsg } from '../../../src/actors/messages.js';
import { actors } from '../../../src/node/tree.js';
import { decode, encode } from '../../../src/runtime/codec.js';
import type { CodedError } from '../../../src/runtime/errors.js';
import type { BlockEnvelope, EncodedBlock, SyncBlock } from '../../../src/types/block.js';
import { storeChainBreaks, testNode } from '../../helpers/actorTree.js';
import { GENESIS, MemoryEl } from '../../helpers/memoryEl.js';
import { MemoryStore } from '../../helpers/memoryStore.js';

const FLAGS = ['--role', 'member', '--instance-id', 'member-a'];
/** What the Syncer gives the Executor to answer. */
const ASK_MS = 5_000;

/** A committed block as the leader's API serves it to a member. */
function syncBlock(b: EncodedBlock, epoch = 1n): SyncBlock {
  return { ...b.summary, payloadData: b.payloadData, requestsData: b.requestsData, epoch, leader: 'node-a' };
}

async function member(t: ExecutionContext, blocks = 3, opts: { el?: MemoryEl; store?: MemoryStore } = {}) {
  const node = testNode(t, FLAGS, opts);
  const chain = (await new MemoryEl().produce(blocks)).map((b) => syncBlock(b));
  // The Executor alone: the test is its Syncer.
  const sup = await node.start([node.spec('executor')]);
  const position = () => sup.ask<SyncPosition, ExecutorMsg>(actors.executor, { type: 'position' }, ASK_MS);
  const execute = (block: SyncBlock) => sup.ask<SyncPosition, ExecutorMsg>(actors.executor, { type: 'execute', block }, ASK_MS);
  const refusal = async (block: SyncBlock) => (await t.throwsAsync<CodedError>(execute(block)))!;
  return { ...node, sup, chain, position, execute, refusal };
}

test('executes blocks in order, stores each as committed, and reports its progress', async (t) => {
  const m = await member(t);
  t.deepEqual(await m.position(), { lastSynced: 0n, lastHash: GENESIS.hash }, 'a fresh member starts after genesis');
  for (const block of m.chain) {
    t.deepEqual(await m.execute(block), { lastSynced: block.number, lastHash: block.hash }, `block ${block.number}`);
  }

  t.deepEqual(
    m.store.all().map((b) => [b.number, b.hash, b.epoch, b.leader]),
    m.chain.map((b) => [b.number, b.hash, 1n, 'node-a']),
    'stored as the leader committed them',
  );
  t.deepEqual(storeChainBreaks(m.store), []);
  t.is(m.el.head.hash, m.chain.at(-1)!.hash, 'the EL follows');
  t.deepEqual(
    m.sink.published.map((p) => p.number),
    [1n, 2n, 3n],
    'served live on this node’s feed after the store',
  );
  t.is(m.report.current.sync?.lastSynced, 3n);
  t.is(m.report.current.sync?.totalSynced, 3);
  t.deepEqual(m.report.current.head, { number: 3n, hash: m.chain.at(-1)!.hash });
  t.deepEqual(await m.position(), { lastSynced: 3n, lastHash: m.chain.at(-1)!.hash }, 'the resume point is read back from EL and store');
});

test('refuses a block out of order with SYNC_OUT_OF_ORDER and the height it expects, before its EL sees it', async (t) => {
  const m = await member(t);
  await m.position();
  const err = await m.refusal(m.chain[1]!);

  t.is(err.code, 'SYNC_OUT_OF_ORDER');
  t.is(err.meta.expected, '1');
  t.is(m.el.callsOf('newPayloadV4').length, 0);
  t.deepEqual(m.store.all(), []);
  t.deepEqual(await m.execute(m.chain[0]!), { lastSynced: 1n, lastHash: m.chain[0]!.hash }, 'the expected block is still taken');
});

test('halts on an INVALID verdict, stores nothing, says why on the report, and stays halted', async (t) => {
  const m = await member(t);
  await m.position();
  m.el.answerNext('newPayloadV4', 'INVALID', { validationError: 'state root mismatch' });
  const err = await m.refusal(m.chain[0]!);

  t.is(err.code, 'SYNC_HALTED');
  t.regex(m.report.current.problems.sync ?? '', /syncing halted: the EL called block 1 INVALID: state root mismatch/);
  t.deepEqual(m.store.all(), []);
  t.is(m.el.head.hash, GENESIS.hash, 'the EL’s head did not move');
  t.is((await m.refusal(m.chain[0]!)).code, 'SYNC_HALTED', 'the same block again is refused');
  t.is(m.el.callsOf('newPayloadV4').length, 1, 'without asking the EL again');
  await m.position();
  t.truthy(m.report.current.problems.sync, 'reading the position does not clear the halt');
});

test('halts on a block whose payload does not hash to its claimed hash, before its EL sees it', async (t) => {
  const m = await member(t);
  await m.position();
  const block = m.chain[0]!;
  const envelope = decode<BlockEnvelope>(block.payloadData);
  const tampered = { ...block, payloadData: encode({ ...envelope, executionPayload: { ...envelope.executionPayload, gasUsed: '0x1' } }) };
  const err = await m.refusal(tampered);

  t.is(err.code, 'SYNC_HALTED');
  t.regex(m.report.current.problems.sync ?? '', /failed verification: block hash mismatch/);
  t.is(m.el.callsOf('newPayloadV4').length, 0);
  t.deepEqual(m.store.all(), []);
});

test('an EL still SYNCING is a SYNC_RETRY: nothing advances, and the same block goes through on the retry', async (t) => {
  const m = await member(t);
  await m.position();
  m.el.answerNext('newPayloadV4', 'SYNCING');
  const err = await m.refusal(m.chain[0]!);

  t.is(err.code, 'SYNC_RETRY');
  t.deepEqual(m.store.all(), []);
  t.is(m.report.current.problems.sync, undefined, 'not a halt');
  t.deepEqual(await m.execute(m.chain[0]!), { lastSynced: 1n, lastHash: m.chain[0]!.hash });
  t.is(m.store.all().length, 1);
});

test('a store that fails after the EL executed is a SYNC_RETRY; the retry executes again and stores the block once', async (t) => {
  const m = await member(t);
  await m.position();
  m.store.failNext('commitBlock');
  t.is((await m.refusal(m.chain[0]!)).code, 'SYNC_RETRY');
  t.deepEqual(m.store.all(), []);

  t.deepEqual(await m.execute(m.chain[0]!), { lastSynced: 1n, lastHash: m.chain[0]!.hash });
  t.deepEqual(
    m.store.all().map((b) => b.hash),
    [m.chain[0]!.hash],
  );
  t.is(m.report.current.sync?.totalSynced, 1, 'counted once');
});

test('a member whose EL is ahead of its store resumes at the store’s head and stores the rest', async (t) => {
  // The EL executed three blocks, the store took two (the node stopped in between).
  const el = new MemoryEl();
  const store = new MemoryStore();
  const chain = (await el.produce(3)).map((b) => syncBlock(b));
  for (const b of chain.slice(0, 2)) await store.commitBlock(b, 1n, 'node-a');
  const m = await member(t, 0, { el, store });

  t.deepEqual(await m.position(), { lastSynced: 2n, lastHash: chain[1]!.hash });
  t.deepEqual(await m.execute(chain[2]!), { lastSynced: 3n, lastHash: chain[2]!.hash });
  t.deepEqual(
    m.store.all().map((b) => b.hash),
    chain.map((b) => b.hash),
  );
});

test('an EL head nobody committed (this node led once) is stepped back from with SYNC_REWOUND, then the committed chain is taken', async (t) => {
  // This node's EL built a block 1 of its own that was never committed.
  const el = new MemoryEl({ template: { executionPayload: { ...MemoryEl.emptyTemplate.executionPayload, extraData: '0x01' }, executionRequests: [] } });
  await el.produce(1);
  const m = await member(t, 3, { el });
  t.is((await m.position()).lastSynced, 1n, 'the EL’s head is where it resumes');
  t.not(m.el.head.hash, m.chain[0]!.hash);

  const err = await m.refusal(m.chain[1]!);
  t.is(err.code, 'SYNC_REWOUND');
  t.is(err.meta.lastSynced, '0');
  for (const block of m.chain) await m.execute(block);
  t.deepEqual(
    m.store.all().map((b) => b.hash),
    m.chain.map((b) => b.hash),
  );
  t.is(m.el.head.hash, m.chain.at(-1)!.hash);
});
