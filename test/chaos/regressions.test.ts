import test from 'ava';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { type BatonProcess, startBaton, waitFor, waitForStandby } from '../helpers/batonProcess.js';
import { createDatabase, deleteRedisPrefix, REDIS_ADDR, rpc, uniqueRedisPrefix } from '../helpers/services.js';

/**
 * Regression tests for violations the chaos harness found, each named after the run and fault that
 * found it (`npm run chaos -- --seed N --lease-backend B`). One small cluster — a leader, a standby
 * and a member, each with its own embedded EL, crash injection on — serves them all.
 */
const ADMIN_TOKEN = 'regression-admin-token';
const prefix = uniqueRedisPrefix();
const redis = new Redis(`redis://${REDIS_ADDR}`);
type Db = Awaited<ReturnType<typeof createDatabase>>;
const dbs: { leaders: Db | null; member: Db | null } = { leaders: null, member: null };
const nodes: Record<'leader' | 'standby' | 'member', BatonProcess | null> = { leader: null, standby: null, member: null };

function start(id: string, role: 'leader' | 'member', db: Db): Promise<BatonProcess> {
  return startBaton({
    env: { BATON_CHAOS: 'true' },
    args: [
      '--role',
      role,
      '--instance-id',
      id,
      '--postgres-url',
      db.url,
      '--redis-addr',
      REDIS_ADDR,
      '--redis-prefix',
      prefix,
      '--lease-ttl',
      '2s',
      '--admin-token',
      ADMIN_TOKEN,
    ],
  });
}

async function health(node: BatonProcess): Promise<Record<string, any>> {
  return (await node.health()).body;
}

test.before(async () => {
  [dbs.leaders, dbs.member] = await Promise.all([createDatabase(), createDatabase()]);
  nodes.leader = await start('leader', 'leader', dbs.leaders!);
  await waitFor('the leader produces', async () => (await health(nodes.leader!)).producer.state === 'producing', 90_000);
  [nodes.standby, nodes.member] = await Promise.all([start('standby', 'leader', dbs.leaders!), start('member', 'member', dbs.member!)]);
  await waitForStandby(nodes.standby!, 'leader');
  await waitFor('the member healthy', async () => (await nodes.member!.health()).status === 200, 90_000);
});

test.after.always(async () => {
  await Promise.all(Object.values(nodes).map((n) => n?.stop()));
  await deleteRedisPrefix(redis, prefix);
  redis.disconnect();
  await Promise.all(Object.values(dbs).map((db) => db?.drop()));
});

for (const role of ['standby', 'member'] as const) {
  test.serial(
    `chaos seed 1 (etcd), fault 1 "workerKill on leader-3": a pool worker dying under the ${role}'s verifyPayload restarts its Executor, and syncing goes on`,
    async (t) => {
      const node = nodes[role]!;
      const before = await health(node);
      t.is((await rpc(node, 'baton_chaos', { fault: 'killWorker', task: 'verifyPayload' }, { token: ADMIN_TOKEN })).error, undefined);
      const after = await waitFor(
        'the worker kill fired and the Executor restarted',
        async () => {
          const h = await health(node);
          return (h.chaos.injected['pool:killWorker'] ?? 0) > (before.chaos.injected['pool:killWorker'] ?? 0) &&
            h.actors.executor.restarts > before.actors.executor.restarts
            ? h
            : undefined;
        },
        30_000,
      );
      t.is(after.problems.sync, undefined, 'no halt: a dead worker says nothing about the block');
      const synced = BigInt(after.elHead.number);
      const advanced = await waitFor(
        `the ${role} healthy and past block ${synced + 2n}`,
        async () => {
          const h = await node.health();
          return h.status === 200 && BigInt(h.body.elHead.number) > synced + 2n ? h.body : undefined;
        },
        30_000,
      );
      t.true(BigInt(advanced.elHead.number) > synced + 2n, `the ${role} executed blocks after the worker died`);
      t.is(advanced.problems.sync, undefined, `the ${role} is not halted`);
    },
  );
}

test.serial('chaos seed 1 (etcd), settle "every feed subscriber at the head": a standby’s feed delivers blocks live, not only its replay', async (t) => {
  const standby = nodes.standby!;
  const head = BigInt((await health(nodes.leader!)).head.number);
  const socket = new WebSocket(`${standby.apiUrl.replace('http', 'ws')}/feed`);
  const received: bigint[] = [];
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as { type: string; number: number };
    if (frame.type === 'block') received.push(BigInt(frame.number));
  });
  await new Promise((resolve) => socket.once('open', resolve));
  socket.send(JSON.stringify({ op: 'subscribe', from: Number(head), encoding: 'json', payload: false }));
  try {
    await waitFor('five blocks past the replay', async () => (received.at(-1) ?? 0n) >= head + 5n, 30_000);
    t.deepEqual(
      received,
      Array.from({ length: received.length }, (_, i) => head + BigInt(i)),
      'in order, no gap, no duplicate',
    );
  } finally {
    socket.close();
  }
});
