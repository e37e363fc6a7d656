/**
 * Health-based failover (DESIGN §2, HealthMonitor): two leader-capable nodes on one Redis and one
 * PostgreSQL, each with its own embedded EL, and node-a reaching PostgreSQL through a proxy of the
 * test's. The faults are the execution client's and the database's, not Baton's: an unhealthy
 * leader hands over to a ready standby, a recovered ex-leader rejoins as a standby, and with no
 * ready standby the leader keeps the lease and says why.
 */
import test, { type ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import { type BatonProcess, startBaton, waitFor } from '../helpers/batonProcess.js';
import { assertOneChain } from '../helpers/chain.js';
import { createDatabase, deleteRedisPrefix, POSTGRES_ADMIN_URL, REDIS_ADDR, rpc, uniqueRedisPrefix } from '../helpers/services.js';
import { TcpProxy } from '../helpers/tcpProxy.js';

const prefix = uniqueRedisPrefix();
const redis = new Redis(`redis://${REDIS_ADDR}`);
let db: Awaited<ReturnType<typeof createDatabase>>;
/** node-a's way to PostgreSQL, cut by the database test. */
let pgProxy: TcpProxy;
const nodes: Record<'a' | 'b', BatonProcess | null> = { a: null, b: null };

/** Health thresholds of this file: as the defaults, with a short minimum term and hold-off to keep the tests short. */
const HEALTH_ARGS = ['--health-min-term', '2s', '--health-hold-off', '3s'];
const ADMIN_TOKEN = 'health-failover-token';

interface Health {
  isLeader: boolean;
  holder: string | null;
  epoch: number | null;
  head: { number: number } | null;
  health: {
    verdict: string;
    reasons: string[];
    ready: boolean;
    notReadyBecause: string[];
    standbys: { id: string; ready: boolean }[];
    staying: string | null;
    stepDowns: { reason: string; to: string }[];
  } | null;
  executionClient: { process: { pid: number; restarts: number } };
  producer: { state: string };
}

const health = async (node: BatonProcess): Promise<Health> => (await node.health()).body as unknown as Health;
const other = (id: 'a' | 'b'): 'a' | 'b' => (id === 'a' ? 'b' : 'a');

async function start(id: 'a' | 'b'): Promise<BatonProcess> {
  const url = new URL(db.url);
  if (id === 'a') url.port = String(pgProxy.port);
  return startBaton({
    args: [
      '--role',
      'leader',
      '--instance-id',
      `node-${id}`,
      '--redis-addr',
      REDIS_ADDR,
      '--redis-prefix',
      prefix,
      '--postgres-url',
      url.toString(),
      '--lease-ttl',
      '2s',
      '--admin-token',
      ADMIN_TOKEN,
      ...HEALTH_ARGS,
    ],
  });
}

/** Which node leads now (by its own `/health`), once one does and produces. */
async function leader(): Promise<'a' | 'b'> {
  return waitFor(
    'a producing leader',
    async () => {
      for (const id of ['a', 'b'] as const) {
        const h = await health(nodes[id]!).catch(() => null);
        if (h?.isLeader && h.producer.state === 'producing') return id;
      }
      return undefined;
    },
    60_000,
    100,
  );
}

/** Waits until `id` is a ready standby (its HealthMonitor says so). */
function ready(id: 'a' | 'b', timeoutMs = 60_000): Promise<Health> {
  return waitFor(
    `node-${id} a ready standby`,
    async () => {
      const h = await health(nodes[id]!);
      return !h.isLeader && h.health?.ready ? h : undefined;
    },
    timeoutMs,
    100,
  );
}

async function failovers(node: BatonProcess): Promise<Record<string, number>> {
  const text = await (await fetch(`${node.healthUrl}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^baton_failovers_total\{reason="(\w+)"\} (\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** After a fault on the leader `from`: the other node leads, produces past the old head, and the chain is one. */
async function takenOver(t: ExecutionContext, from: 'a' | 'b', headBefore: number, faultAt: number): Promise<void> {
  const to = other(from);
  const h = await waitFor(
    `node-${to} to take over and produce`,
    async () => {
      const s = await health(nodes[to]!);
      return s.isLeader && (s.head?.number ?? 0) > headBefore ? s : undefined;
    },
    30_000,
    50,
  );
  t.log(`fault on node-${from} → node-${to} committed block ${h.head!.number} after ${Math.round(performance.now() - faultAt)} ms`);
  await assertOneChain(t, { dbUrl: db.url, stream: { redis, key: `${prefix}:blocks` } });
}

test.before(async () => {
  db = await createDatabase();
  const admin = new URL(POSTGRES_ADMIN_URL);
  pgProxy = await TcpProxy.start({ host: admin.hostname, port: Number(admin.port || 5432) });
  nodes.a = await start('a');
  await waitFor('node-a leads', async () => (await health(nodes.a!)).isLeader, 90_000);
  nodes.b = await start('b');
  await ready('b', 90_000);
});

test.after.always(async () => {
  for (const node of Object.values(nodes)) {
    if (!node) continue;
    try {
      process.kill(node.child.pid!, 'SIGCONT');
      process.kill((await health(node)).executionClient.process.pid, 'SIGCONT');
    } catch {
      // gone already
    }
  }
  await Promise.all(Object.values(nodes).map((n) => n?.stop()));
  await pgProxy?.close();
  await deleteRedisPrefix(redis, prefix);
  redis.disconnect();
  await db?.drop();
});

test.serial("the leader's EL SIGKILLed: a ready standby takes over and the chain goes on; the ex-leader rejoins as a ready standby", async (t) => {
  const from = await leader();
  const before = await health(nodes[from]!);
  const faultAt = performance.now();
  process.kill(before.executionClient.process.pid, 'SIGKILL');
  await takenOver(t, from, before.head!.number, faultAt);
  const after = await health(nodes[from]!);
  t.false(after.isLeader);
  t.regex(after.health!.stepDowns[0]?.reason ?? '', /unhealthy: execution client unreachable/);
  t.is(after.health!.stepDowns[0]?.to, `node-${other(from)}`);
  t.deepEqual(await failovers(nodes[from]!), { el_unreachable: 1 });
  // Its EL is restarted by the node (supervised); it catches up, then is ready, and does not take the lease back.
  const rejoined = await ready(from);
  t.true(rejoined.executionClient.process.restarts >= 1);
  t.is((await health(nodes[other(from)]!)).holder, `node-${other(from)}`, 'the new leader keeps the lease');
});

test.serial("the leader's EL hung (SIGSTOP past the Engine API timeouts): a ready standby takes over; resumed, it rejoins", async (t) => {
  const from = await leader();
  await ready(other(from));
  const before = await health(nodes[from]!);
  const pid = before.executionClient.process.pid;
  const faultAt = performance.now();
  process.kill(pid, 'SIGSTOP');
  try {
    await takenOver(t, from, before.head!.number, faultAt);
    t.regex((await health(nodes[from]!)).health!.stepDowns[0]?.reason ?? '', /unhealthy/);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await ready(from);
});

test.serial('PostgreSQL unreachable from the leader only: it hands over to the standby that can commit', async (t) => {
  // node-a is the one behind the proxy: make it the leader first.
  let from = await leader();
  if (from !== 'a') {
    await ready('a');
    const moved = await rpc(nodes.b!, 'baton_transferLeadership', { instanceId: 'node-a', url: nodes.a!.apiUrl }, { token: ADMIN_TOKEN });
    t.is(moved.result?.to, 'node-a', `the transfer to node-a: ${JSON.stringify(moved)}`);
    from = await leader();
  }
  await ready('b');
  const before = await health(nodes.a!);
  const faultAt = performance.now();
  pgProxy.cut('blackhole');
  try {
    await takenOver(t, 'a', before.head!.number, faultAt);
    t.regex((await health(nodes.a!)).health!.stepDowns[0]?.reason ?? '', /unhealthy: (no block committed|database unreachable|block production failing)/);
  } finally {
    pgProxy.heal();
  }
  await ready('a');
});

test.serial('no ready standby: the unhealthy leader keeps the lease, says why on /health, and produces again when its EL is back', async (t) => {
  const from = await leader();
  const standby = nodes[other(from)]!;
  process.kill(standby.child.pid!, 'SIGSTOP'); // its health record lapses: no standby is ready
  try {
    await waitFor(
      'the standby record lapsed',
      async () => {
        const h = await health(nodes[from]!);
        return h.health !== null && h.health.standbys.length === 0;
      },
      20_000,
      100,
    );
    const before = await health(nodes[from]!);
    process.kill(before.executionClient.process.pid, 'SIGKILL');
    const staying = await waitFor(
      'the leader to say why it stays',
      async () => {
        const h = await health(nodes[from]!);
        return h.health?.staying?.includes('no ready standby') ? h : undefined;
      },
      20_000,
      100,
    );
    t.true(staying.isLeader, 'it keeps the lease');
    t.is(staying.epoch, before.epoch, 'in the same term');
    t.is((await nodes[from]!.health()).status, 503, '/health is 503 meanwhile');
    // The node restarts its EL itself; production resumes in the same term.
    const back = await waitFor(
      'producing again',
      async () => {
        const h = await health(nodes[from]!);
        return h.producer.state === 'producing' && (h.head?.number ?? 0) > before.head!.number ? h : undefined;
      },
      60_000,
      200,
    );
    t.is(back.epoch, before.epoch);
  } finally {
    process.kill(standby.child.pid!, 'SIGCONT');
  }
  await ready(other(from));
  await assertOneChain(t, { dbUrl: db.url, stream: { redis, key: `${prefix}:blocks` } });
});
