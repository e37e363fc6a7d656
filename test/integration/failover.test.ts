import test, { type ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { type BatonProcess, startBaton, waitFor } from '../helpers/batonProcess.js';
import { createDatabase, elBlockHash, REDIS_ADDR, uniqueRedisPrefix } from '../helpers/services.js';

/**
 * Two leader-capable nodes on one Redis (lease + Stream) and one PostgreSQL, each with its own
 * embedded EL. The tests run in order on the same pair: SIGKILL of the active leader, then a
 * restart of the killed node as standby, then a SIGSTOP of the new leader past the lease TTL.
 */
const LEASE_TTL_MS = 2_000;
const prefix = uniqueRedisPrefix();
const redis = new Redis(`redis://${REDIS_ADDR}`);
let db: Awaited<ReturnType<typeof createDatabase>>;
const nodes: Record<'a' | 'b', BatonProcess | null> = { a: null, b: null };

function start(id: 'a' | 'b', dataDir?: string): Promise<BatonProcess> {
  return startBaton({
    dataDir,
    args: ['--role', 'leader', '--instance-id', `node-${id}`, '--redis-addr', REDIS_ADDR, '--redis-prefix', prefix, '--postgres-url', db.url, '--lease-ttl', `${LEASE_TTL_MS}ms`],
  });
}

async function leaderOf(candidates: BatonProcess[]): Promise<BatonProcess | undefined> {
  for (const node of candidates) {
    const h = await node.health().catch(() => undefined);
    if (h?.body.isLeader && h.body.producer.state === 'producing') return node;
  }
  return undefined;
}

async function headOf(node: BatonProcess): Promise<bigint> {
  return BigInt((await node.health()).body.head?.number ?? -1);
}

interface Row {
  block_number: bigint;
  block_hash: string;
  parent_hash: string;
  epoch: bigint;
  leader: string;
}

/** The committed chain is one chain: contiguous, linked, epochs never decreasing, and the Stream holds the same hash at every height. */
async function assertOneChain(t: ExecutionContext, survivorRpcUrl: string): Promise<Row[]> {
  const sql = postgres(db.url, { max: 1, types: { bigint: postgres.BigInt } });
  const rows = await sql<Row[]>`SELECT block_number, block_hash, parent_hash, epoch, leader FROM payloads ORDER BY block_number`;
  await sql.end();
  const stream = await redis.xrange(`${prefix}:blocks`, '-', '+');
  const streamHash = new Map(stream.map(([id, fields]) => [id, fields[fields.indexOf('block_hash') + 1]]));
  t.is(stream.length, rows.length, 'one Stream entry per committed block');
  for (const [i, row] of rows.entries()) {
    t.is(row.block_number, BigInt(i + 1), `contiguous at ${row.block_number}`);
    if (i > 0) {
      t.is(row.parent_hash, rows[i - 1]!.block_hash, `parent link at ${row.block_number}`);
      t.true(row.epoch >= rows[i - 1]!.epoch, `epoch never decreases at ${row.block_number}`);
    }
    t.is(streamHash.get(`${row.block_number}-0`), row.block_hash, `Stream hash at ${row.block_number}`);
  }
  const last = rows.at(-1)!;
  t.is(await elBlockHash(survivorRpcUrl, last.block_number), last.block_hash, 'the active leader’s EL is on the committed chain');
  return rows;
}

test.before(async () => {
  db = await createDatabase();
  nodes.a = await start('a');
  await waitFor('node-a leads', () => leaderOf([nodes.a!]), 90_000);
  nodes.b = await start('b');
  await waitFor('node-b healthy as standby', async () => {
    const h = await nodes.b!.health();
    return h.status === 200 && !h.body.isLeader && h.body.holder === 'node-a';
  }, 90_000);
});

test.after.always(async () => {
  await Promise.all(Object.values(nodes).map((n) => n?.stop()));
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await db?.drop();
});

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
  t.true(rows.filter((r) => r.block_number > firstOfB.block_number).every((r) => r.leader === 'node-b'), 'after the takeover only node-b commits');
});

test.serial('the killed node restarts on its data dir (its orphaned EL is replaced) and rejoins as a healthy standby', async (t) => {
  nodes.a = await start('a', nodes.a!.dataDir);
  const h = await waitFor('node-a back as standby', async () => {
    const health = await nodes.a!.health();
    return health.status === 200 && !health.body.isLeader && health.body.holder === 'node-b' ? health : undefined;
  }, 90_000);
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
  const staleHealth = await waitFor('node-b steps down', async () => {
    const h = await stale.health();
    return !h.body.isLeader && h.body.holder === 'node-a' ? h : undefined;
  }, 30_000);
  t.is(staleHealth.body.producer.state, 'following', 'not leader means not producing, in the same report');
  const headAfterResume = await headOf(standby);
  await waitFor('node-a keeps producing', async () => (await headOf(standby)) >= headAfterResume + 3n, 30_000);

  const rows = await assertOneChain(t, (await standby.health()).body.executionClient.rpcUrl);
  const newEpochStart = rows.find((r) => r.leader === 'node-a' && r.epoch > staleEpoch)!;
  t.truthy(newEpochStart, 'node-a committed under a newer epoch');
  const staleAfter = rows.filter((r) => r.block_number > newEpochStart.block_number && r.epoch <= staleEpoch);
  t.deepEqual(staleAfter, [], 'nothing committed under the stale epoch after the takeover');
});
