import test, { type ExecutionContext } from 'ava';
import { type BatonProcess, headOf, waitFor } from '../helpers/batonProcess.js';
import { assertOneChain as assertChain, type ChainRow } from '../helpers/chain.js';
import { twoLeaders } from '../helpers/twoLeaders.js';

/**
 * Two leader-capable nodes on one Redis (lease + Stream) and one PostgreSQL, each with its own
 * embedded EL. The tests run in order on the same pair: SIGKILL of the active leader, then a
 * restart of the killed node as standby, then a SIGSTOP of the new leader past the lease TTL.
 */
const LEASE_TTL_MS = 2_000;
const pair = twoLeaders({ leaseTtlMs: LEASE_TTL_MS, leads: (node) => leaderOf([node]) });
const { redis, prefix, nodes, start } = pair;

async function leaderOf(candidates: BatonProcess[]): Promise<BatonProcess | undefined> {
  for (const node of candidates) {
    const h = await node.health().catch(() => undefined);
    if (h?.body.isLeader && h.body.producer.state === 'producing') return node;
  }
  return undefined;
}

/** One chain in PostgreSQL, the same hashes in the Stream, and the active leader's EL on its head. */
function assertOneChain(t: ExecutionContext, activeRpcUrl: string): Promise<ChainRow[]> {
  return assertChain(t, { dbUrl: pair.db.url, stream: { redis, key: `${prefix}:blocks` }, elRpcUrl: activeRpcUrl });
}

test.serial('SIGKILL of the active leader: the standby continues from the committed head, one chain', async (t) => {
  const a = nodes.a!;
  const b = nodes.b!;
  await waitFor('a few blocks from node-a', async () => (await headOf(a)) >= 5n);
  a.child.kill('SIGKILL');
  const killedAt = Date.now();
  await a.exited;
  await waitFor('node-b takes over', () => leaderOf([b]), 30_000);
  const tookOverMs = Date.now() - killedAt;
  t.log(`takeover after SIGKILL: ${tookOverMs} ms (lease TTL ${LEASE_TTL_MS} ms)`);
  const headAtTakeover = await headOf(b);
  await waitFor('node-b produces 5 more blocks', async () => (await headOf(b)) >= headAtTakeover + 5n, 60_000);
  const rows = await assertOneChain(t, (await b.health()).body.executionClient.rpcUrl);
  const leaders = new Set(rows.map((r) => r.leader));
  t.deepEqual([...leaders].sort(), ['node-a', 'node-b'], 'both nodes committed blocks');
  const firstOfB = rows.find((r) => r.leader === 'node-b')!;
  t.true(
    rows.filter((r) => r.block_number > firstOfB.block_number).every((r) => r.leader === 'node-b'),
    'after the takeover only node-b commits',
  );
});

test.serial('the killed node restarts on its data dir (its orphaned EL is replaced) and rejoins as a healthy standby', async (t) => {
  nodes.a = await start('a', nodes.a!.dataDir);
  const h = await waitFor(
    'node-a back as standby',
    async () => {
      const health = await nodes.a!.health();
      return health.status === 200 && !health.body.isLeader && health.body.holder === 'node-b' ? health : undefined;
    },
    90_000,
  );
  t.is(h.body.producer.state, 'following');
});

test.serial('SIGSTOP past the lease TTL: the standby takes over; the resumed stale leader commits nothing and steps down', async (t) => {
  const stale = nodes.b!;
  const standby = nodes.a!;
  const staleEpoch = BigInt((await stale.health()).body.epoch);
  stale.child.kill('SIGSTOP');
  await waitFor('node-a takes over while node-b is stopped', () => leaderOf([standby]), 30_000);
  const takeoverHead = await headOf(standby);
  await waitFor('node-a produces 3 blocks', async () => (await headOf(standby)) >= takeoverHead + 3n, 30_000);
  stale.child.kill('SIGCONT');
  const staleHealth = await waitFor(
    'node-b steps down',
    async () => {
      const h = await stale.health();
      return !h.body.isLeader && h.body.holder === 'node-a' ? h : undefined;
    },
    30_000,
  );
  t.is(staleHealth.body.producer.state, 'following', 'not leader means not producing, in the same report');
  const headAfterResume = await headOf(standby);
  await waitFor('node-a keeps producing', async () => (await headOf(standby)) >= headAfterResume + 3n, 30_000);

  const rows = await assertOneChain(t, (await standby.health()).body.executionClient.rpcUrl);
  const newEpochStart = rows.find((r) => r.leader === 'node-a' && r.epoch > staleEpoch)!;
  t.truthy(newEpochStart, 'node-a committed under a newer epoch');
  const staleAfter = rows.filter((r) => r.block_number > newEpochStart.block_number && r.epoch <= staleEpoch);
  t.deepEqual(staleAfter, [], 'nothing committed under the stale epoch after the takeover');
});
