import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import test from 'ava';
import { Redis } from 'ioredis';
import { type BatonProcess, headOf, startBaton, waitFor, waitForStandby } from '../helpers/batonProcess.js';
import { assertOneChain } from '../helpers/chain.js';
import { freePort } from '../helpers/etcdCluster.js';
import { startRedisServer } from '../helpers/redisServer.js';
import { createDatabase, uniqueRedisPrefix } from '../helpers/services.js';
import { TcpProxy } from '../helpers/tcpProxy.js';

/**
 * A network partition between the active leader and Redis (issue 4). The test runs its own
 * redis-server (never the shared one: nothing here may disturb other tests) and an in-test TCP
 * proxy. node-a, the leader, reaches Redis only through the proxy; node-b, the standby, directly.
 * Cutting the proxy must make node-a stop building before its lease can expire in Redis, node-b
 * takes over, and once the partition heals node-a rejoins as a standby. One chain throughout.
 */
const LEASE_TTL_MS = 2_000;
const prefix = uniqueRedisPrefix();
const leaderKey = `${prefix}:leader`;

let redisServer: ChildProcess;
let redisPort: number;
let redis: Redis;
let proxy: TcpProxy;
let db: Awaited<ReturnType<typeof createDatabase>>;
const nodes: Record<'a' | 'b', BatonProcess | null> = { a: null, b: null };

/** What the cut test hands to the heal test. */
let partition: { epochA: bigint; leaseDeadline: Date; firstOfB: bigint } | undefined;

function start(id: 'a' | 'b', redisAddr: string): Promise<BatonProcess> {
  return startBaton({
    args: [
      '--role',
      'leader',
      '--instance-id',
      `node-${id}`,
      '--redis-addr',
      redisAddr,
      '--redis-prefix',
      prefix,
      '--postgres-url',
      db.url,
      '--lease-ttl',
      `${LEASE_TTL_MS}ms`,
      '--block-time',
      '1s',
    ],
  });
}

interface Observed {
  status: number;
  isLeader: boolean;
  producer: string;
}

async function observe(node: BatonProcess): Promise<Observed | undefined> {
  const h = await node.health().catch(() => undefined);
  return h && { status: h.status, isLeader: Boolean(h.body.isLeader), producer: h.body.producer?.state };
}

/** When the node logged the loss of the term `epoch` (pino's `time`: Date.now() at the demotion). */
async function leadershipLostAt(node: BatonProcess, epoch: bigint): Promise<number> {
  return waitFor(
    'the “Leadership lost” log line',
    async () => {
      for (const line of (await readFile(node.logPath, 'utf8')).split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; epoch?: number; time?: number };
        if (entry.msg === 'Leadership lost' && BigInt(entry.epoch ?? -1) === epoch) return entry.time;
      }
      return undefined;
    },
    5_000,
  );
}

test.before(async (t) => {
  t.timeout(180_000);
  redisPort = await freePort();
  redisServer = await startRedisServer(redisPort);
  redis = new Redis({ port: redisPort, host: '127.0.0.1' });
  redis.on('error', () => {});
  proxy = await TcpProxy.start({ port: redisPort });
  db = await createDatabase();
  nodes.a = await start('a', proxy.address);
  await waitFor(
    'node-a leads',
    async () => {
      const o = await observe(nodes.a!);
      return o?.isLeader && o.producer === 'producing';
    },
    90_000,
  );
  nodes.b = await start('b', `127.0.0.1:${redisPort}`);
  await waitForStandby(nodes.b!, 'node-a');
});

test.after.always(async () => {
  await Promise.all(Object.values(nodes).map((n) => n?.stop()));
  redis?.disconnect();
  await proxy?.close();
  if (redisServer && redisServer.exitCode === null) {
    const exited = once(redisServer, 'exit');
    redisServer.kill('SIGKILL');
    await exited;
  }
  await db?.drop();
});

test.serial('cut off from Redis, the leader stops building before its lease can expire; the standby takes over', async (t) => {
  t.timeout(90_000);
  const a = nodes.a!;
  const b = nodes.b!;
  await waitFor('a few blocks from node-a', async () => (await headOf(a)) >= 5n, 60_000);
  const epochA = BigInt((await a.health()).body.epoch);

  proxy.cut('blackhole');
  const cutAt = performance.now();
  // After the cut no renewal can reach Redis: the lease's remaining TTL there is its real deadline.
  const pttl = await redis.pttl(leaderKey);
  const leaseDeadline = new Date(Date.now() + pttl);
  t.true(pttl > 0 && pttl <= LEASE_TTL_MS, `node-a's lease has ${pttl} ms left in Redis`);
  t.is(await redis.get(leaderKey), 'node-a');

  // Watch both nodes closely: when does node-a stop calling itself leader, when does node-b start?
  let aStoppedAt: number | undefined;
  let bLeadsAt: number | undefined;
  await waitFor(
    'node-a steps down and node-b produces',
    async () => {
      const [oa, ob] = await Promise.all([observe(a), observe(b)]);
      const now = performance.now();
      if (aStoppedAt === undefined && oa && !oa.isLeader && oa.producer !== 'producing') aStoppedAt = now;
      if (bLeadsAt === undefined && ob?.isLeader && ob.producer === 'producing') bLeadsAt = now;
      return aStoppedAt !== undefined && bLeadsAt !== undefined;
    },
    30_000,
    20,
  );
  const stoppedMs = aStoppedAt! - cutAt;
  t.log(
    `cut at +0 ms (lease ${pttl} ms left in Redis): node-a not leader and not producing at +${Math.round(stoppedMs)} ms, node-b producing at +${Math.round(bLeadsAt! - cutAt)} ms`,
  );
  t.true(stoppedMs < LEASE_TTL_MS, `node-a's /health says not leader, not producing within the TTL of the cut (${Math.round(stoppedMs)} ms)`);
  // The exact instant is in node-a's own log (wall clock, as the deadline): polling /health only bounds it from above.
  const lostAt = await leadershipLostAt(a, epochA);
  t.true(lostAt < leaseDeadline.getTime(), `node-a demoted itself ${leaseDeadline.getTime() - lostAt} ms before its lease could expire in Redis`);
  t.log(`node-a logged the loss of its term ${leaseDeadline.getTime() - lostAt} ms before its lease deadline in Redis`);
  t.true(aStoppedAt! < bLeadsAt!, 'node-a stopped before node-b produced');

  const hb = (await b.health()).body;
  const epochB = BigInt(hb.epoch);
  t.true(epochB > epochA, `node-b's epoch ${epochB} is above node-a's ${epochA}`);
  const headAtTakeover = await headOf(b);
  await waitFor('node-b produces 3 blocks', async () => (await headOf(b)) >= headAtTakeover + 3n, 30_000);
  const ha = (await a.health()).body;
  t.false(ha.isLeader, 'node-a, still cut off, is not leader');
  t.not(ha.producer.state, 'producing', 'node-a, still cut off, does not produce');

  const rows = await assertOneChain(t, { dbUrl: db.url, elRpcUrl: hb.executionClient.rpcUrl });
  const firstOfB = rows.find((r) => r.leader === 'node-b')!;
  t.truthy(firstOfB, 'node-b committed');
  const lateA = rows.filter((r) => r.epoch === epochA && (r.block_number > firstOfB.block_number || r.created_at > leaseDeadline));
  t.deepEqual(lateA, [], 'nothing of node-a’s epoch committed after its lease deadline or after node-b’s first block');
  const lastOfA = rows.filter((r) => r.epoch === epochA).at(-1)!;
  t.log(
    `node-a's last block ${lastOfA.block_number} committed ${leaseDeadline.getTime() - lastOfA.created_at.getTime()} ms before its lease deadline; node-b's first block ${firstOfB.block_number}`,
  );
  partition = { epochA, leaseDeadline, firstOfB: firstOfB.block_number };
});

test.serial('after the partition heals, the old leader rejoins as a healthy standby; no fork', async (t) => {
  t.timeout(90_000);
  if (!partition) return t.fail('the partition test did not run');
  const a = nodes.a!;
  const b = nodes.b!;
  proxy.heal();
  let last: unknown;
  const ha = await waitFor(
    'node-a healthy as standby of node-b',
    async () => {
      const h = await a.health();
      last = h.body;
      return h.status === 200 && !h.body.isLeader && h.body.holder === 'node-b' ? h : undefined;
    },
    30_000,
  ).catch((err: Error) => {
    t.log('node-a /health:', JSON.stringify(last));
    throw err;
  });
  t.is(ha.body.producer.state, 'following');
  t.is(ha.body.election.holder, 'node-b');
  t.true(proxy.connections > 0, 'node-a talks to Redis through the proxy again');

  const head = await headOf(b);
  await waitFor('node-b keeps producing', async () => (await headOf(b)) >= head + 3n, 30_000);
  const hb = (await b.health()).body;
  t.true(hb.isLeader, 'node-b still leads');
  const rows = await assertOneChain(t, { dbUrl: db.url, stream: { redis, key: `${prefix}:blocks` }, elRpcUrl: hb.executionClient.rpcUrl });
  const afterTakeover = rows.filter((r) => r.block_number >= partition!.firstOfB);
  t.true(
    afterTakeover.every((r) => r.leader === 'node-b'),
    'only node-b committed since its takeover',
  );
  t.true(
    rows.every((r) => r.epoch !== partition!.epochA || r.created_at <= partition!.leaseDeadline),
    'node-a committed nothing after its lease deadline',
  );
});
