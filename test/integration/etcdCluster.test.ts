import test from 'ava';
import { type BatonProcess, headOf, startBaton, waitFor } from '../helpers/batonProcess.js';
import { assertOneChain, readChain, watchCommits } from '../helpers/chain.js';
import { EtcdCluster } from '../helpers/etcdCluster.js';
import { createDatabase } from '../helpers/services.js';

/**
 * The Raft row of the election (DESIGN §3, issue 4): 3 etcd members on loopback, 3 leader-capable
 * Baton nodes on `--lease-backend etcd` with every member in `--etcd-endpoints`, one PostgreSQL.
 * The tests run in order on the same cluster: kill the etcd member that is the Raft leader (block
 * production goes on), then SIGKILL the active Baton leader (another takes over), then one chain.
 */
const LEASE_TTL_MS = 2_000;
const IDS = ['a', 'b', 'c'] as const;
type Id = (typeof IDS)[number];

let etcd: EtcdCluster;
let db: Awaited<ReturnType<typeof createDatabase>>;
const nodes = new Map<Id, BatonProcess>();

function start(id: Id): Promise<BatonProcess> {
  return startBaton({
    args: [
      '--role',
      'leader',
      '--instance-id',
      `node-${id}`,
      '--lease-backend',
      'etcd',
      '--etcd-endpoints',
      etcd.endpoints.join(','),
      '--postgres-url',
      db.url,
      '--lease-ttl',
      `${LEASE_TTL_MS}ms`,
      '--block-time',
      '1s',
    ],
  });
}

/** The node that leads and produces, if any. */
async function producer(candidates: Iterable<BatonProcess>): Promise<BatonProcess | undefined> {
  for (const node of candidates) {
    const h = await node.health().catch(() => undefined);
    if (h?.body.isLeader && h.body.producer.state === 'producing') return node;
  }
  return undefined;
}

function idOf(node: BatonProcess): Id {
  return [...nodes].find(([, n]) => n === node)![0];
}

interface ClusterMember {
  name: string;
  clientUrl: string | null;
  isRaftLeader: boolean;
  healthy: boolean;
}

async function clusterSeenBy(node: BatonProcess): Promise<ClusterMember[] | undefined> {
  return (await node.health()).body.election?.cluster as ClusterMember[] | undefined;
}

test.before(async (t) => {
  t.timeout(240_000); // three embedded ELs start one after the other on two cores
  etcd = await EtcdCluster.start(3);
  db = await createDatabase();
  nodes.set('a', await start('a'));
  await waitFor('node-a leads', () => producer([nodes.get('a')!]), 90_000);
  for (const id of ['b', 'c'] as const) {
    const node = await start(id);
    nodes.set(id, node);
    await waitFor(
      `node-${id} healthy as standby`,
      async () => {
        const h = await node.health();
        return h.status === 200 && !h.body.isLeader && h.body.holder === 'node-a' && h.body.producer.state === 'following';
      },
      90_000,
    );
  }
});

test.after.always(async () => {
  await Promise.all([...nodes.values()].map((n) => n.stop()));
  await etcd?.stop();
  await db?.drop();
});

test.serial('killing the etcd member that is the Raft leader: /health names it, and block production goes on', async (t) => {
  t.timeout(120_000);
  const active = (await waitFor('a producing node', () => producer(nodes.values()), 30_000))!;
  // The Raft leader as the Baton node reports it on /health (election.cluster), checked against etcd's own status.
  const cluster = await waitFor(
    '/health lists the etcd members with a Raft leader',
    async () => {
      const members = await clusterSeenBy(active);
      return members?.length === 3 && members.filter((m) => m.isRaftLeader).length === 1 && members.every((m) => m.healthy) ? members : undefined;
    },
    20_000,
  );
  const raftLeaderUrl = cluster.find((m) => m.isRaftLeader)!.clientUrl;
  const victim = etcd.members.findIndex((m) => m.clientUrl === raftLeaderUrl);
  t.true(victim >= 0, `the Raft leader ${raftLeaderUrl} is one of our members`);
  t.is(await etcd.leader(), victim, '/health and etcd’s maintenance status agree on the Raft leader');

  const watcher = watchCommits(db.url, 50);
  const headBefore = await headOf(active);
  await etcd.kill(victim);
  const killedAt = performance.now();
  t.log(`killed etcd ${etcd.members[victim]!.name} (Raft leader) at Baton head ${headBefore}`);

  const newRaftLeader = await waitFor(
    'a new Raft leader among the survivors',
    async () => {
      const i = await etcd.leader();
      return i >= 0 && i !== victim ? i : undefined;
    },
    15_000,
    100,
  );
  t.log(`new Raft leader ${etcd.members[newRaftLeader]!.name} after ${Math.round(performance.now() - killedAt)} ms`);

  // Production continues: whichever Baton node leads now, the committed head grows by 10 blocks.
  // One more than that: /health's head lags the database, whose first poll by the watcher may
  // already count from the next block.
  const target = headBefore + 11n;
  await waitFor(
    `the committed head reaches ${target}`,
    async () => {
      const leader = await producer(nodes.values());
      return leader !== undefined && (await headOf(leader)) >= target;
    },
    60_000,
  );
  const { longestPauseMs, commits } = await watcher.stop();
  const leaderNow = (await producer(nodes.values()))!;
  t.log(
    `longest pause between commits: ${Math.round(longestPauseMs)} ms over ${commits} commits (lease TTL ${LEASE_TTL_MS} ms, block time 1000 ms); node-${idOf(active)} led before, node-${idOf(leaderNow)} leads now`,
  );
  t.true(commits >= 10, 'at least 10 blocks committed after the Raft leader died');
  const terms = [...new Set((await readChain(db.url)).filter((r) => r.block_number > headBefore).map((r) => `${r.leader}@${r.epoch}`))];
  t.log(`terms that committed since the kill: ${terms.join(', ')}`);

  // Every node still sees the election and reports the dead member as unhealthy.
  for (const [id, node] of nodes) {
    const members = await waitFor(
      `node-${id} reports ${etcd.members[victim]!.name} unhealthy`,
      async () => {
        const m = await clusterSeenBy(node);
        return m?.find((x) => x.clientUrl === raftLeaderUrl)?.healthy === false ? m : undefined;
      },
      20_000,
    );
    t.is(members.filter((m) => m.healthy).length, 2, `node-${id}: two healthy members`);
    t.is((await node.health()).body.election.holder, `node-${idOf(leaderNow)}`, `node-${id} sees the current holder`);
  }
});

test.serial('SIGKILL of the active Baton leader with one etcd member down: another node takes over and produces; one chain', async (t) => {
  t.timeout(120_000);
  const active = (await waitFor('a producing node', () => producer(nodes.values()), 30_000))!;
  const killedId = idOf(active);
  const survivors = [...nodes].filter(([id]) => id !== killedId).map(([, n]) => n);
  const epochBefore = BigInt((await active.health()).body.epoch);
  active.child.kill('SIGKILL');
  const killedAt = performance.now();
  await active.exited;

  const next = await waitFor('a surviving node takes over', () => producer(survivors), 30_000, 50);
  t.log(`node-${idOf(next)} produces ${Math.round(performance.now() - killedAt)} ms after SIGKILL of node-${killedId} (lease TTL ${LEASE_TTL_MS} ms)`);
  const nextHealth = (await next.health()).body;
  t.true(BigInt(nextHealth.epoch) > epochBefore, 'the new holder has a higher epoch');
  const headAtTakeover = await headOf(next);
  await waitFor('the new leader produces 5 blocks', async () => (await headOf(next)) >= headAtTakeover + 5n, 60_000);
  for (const node of survivors.filter((n) => n !== next)) {
    const h = await node.health();
    t.false(h.body.isLeader, `node-${idOf(node)} is a standby`);
    t.is(h.body.holder, `node-${idOf(next)}`, `node-${idOf(node)} sees the new holder`);
  }

  const rows = await assertOneChain(t, { dbUrl: db.url, elRpcUrl: nextHealth.executionClient.rpcUrl });
  const firstOfNext = rows.find((r) => r.leader === `node-${idOf(next)}` && r.epoch > epochBefore);
  t.truthy(firstOfNext, 'the new leader committed under its new epoch');
  const afterTakeover = rows.filter((r) => r.block_number >= firstOfNext!.block_number);
  t.true(
    afterTakeover.every((r) => r.leader === `node-${idOf(next)}`),
    'after the takeover only the new leader commits',
  );
  t.true(
    rows.some((r) => r.leader === `node-${killedId}`),
    'the killed leader had committed before',
  );
  t.log(
    `chain of ${rows.length} blocks, epochs ${[...new Set(rows.map((r) => r.epoch))].join(', ')}, leaders ${[...new Set(rows.map((r) => r.leader))].join(', ')}`,
  );
});
