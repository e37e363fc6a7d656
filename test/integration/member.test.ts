import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { type BatonProcess, producing, startBaton, waitFor } from '../helpers/batonProcess.js';
import { createDatabase, deleteRedisPrefix, elBlockHash, REDIS_ADDR, uniqueRedisPrefix } from '../helpers/services.js';

/**
 * Read replicas: a leader and a standby sharing one PostgreSQL, and two members, each with its own
 * embedded EL and its own PostgreSQL database, finding the leader through the Redis lease. The
 * tests run in order on the same cluster: convergence, a member restart, a leader SIGKILL, and a
 * tampered payload served by an in-test fake leader.
 */
const LEASE_TTL_MS = 2_000;
const prefix = uniqueRedisPrefix();
const redis = new Redis(`redis://${REDIS_ADDR}`);
type Db = Awaited<ReturnType<typeof createDatabase>>;
const dbs: Record<'leaders' | 'm1' | 'm2', Db | null> = { leaders: null, m1: null, m2: null };
const nodes: Record<'a' | 'b' | 'm1' | 'm2', BatonProcess | null> = { a: null, b: null, m1: null, m2: null };
let fakeLeader: Server | null = null;

const common = () => ['--redis-addr', REDIS_ADDR, '--redis-prefix', prefix, '--lease-ttl', `${LEASE_TTL_MS}ms`];

function startLeader(id: 'a' | 'b'): Promise<BatonProcess> {
  return startBaton({ args: ['--role', 'leader', '--instance-id', `node-${id}`, '--postgres-url', dbs.leaders!.url, ...common()] });
}

function startMember(id: 'm1' | 'm2', extra: string[] = [], dataDir?: string): Promise<BatonProcess> {
  return startBaton({ dataDir, args: ['--role', 'member', '--instance-id', id, '--postgres-url', dbs[id]!.url, ...common(), ...extra] });
}

async function health(node: BatonProcess): Promise<Record<string, any> | undefined> {
  return (await node.health().catch(() => undefined))?.body;
}

async function lastSynced(node: BatonProcess): Promise<bigint> {
  const h = await health(node);
  return BigInt(h?.sync?.lastSynced ?? -1);
}

async function rows(db: Db): Promise<{ block_number: bigint; block_hash: string; parent_hash: string }[]> {
  const sql = postgres(db.url, { max: 1, types: { bigint: postgres.BigInt }, onnotice: () => {} });
  try {
    return await sql`SELECT block_number, block_hash, parent_hash FROM payloads ORDER BY block_number`;
  } finally {
    await sql.end();
  }
}

/** The member's database holds exactly the leaders' chain from its first row up to `upTo`, with no gap. */
async function assertSameChain(t: ExecutionContext, member: Db, upTo: bigint, label: string): Promise<void> {
  const leaderRows = new Map<bigint, string>((await rows(dbs.leaders!)).map((r) => [r.block_number, r.block_hash]));
  const memberRows = (await rows(member)).filter((r) => r.block_number <= upTo);
  t.true(memberRows.length > 0, `${label} stored blocks`);
  for (const [i, row] of memberRows.entries()) {
    t.is(row.block_number, memberRows[0]!.block_number + BigInt(i), `${label}: contiguous at ${row.block_number}`);
    t.is(row.block_hash, leaderRows.get(row.block_number) ?? '', `${label}: same hash as the leaders at ${row.block_number}`);
  }
  t.is(memberRows.at(-1)!.block_number, upTo, `${label} stored up to ${upTo}`);
}

test.before(async () => {
  [dbs.leaders, dbs.m1, dbs.m2] = await Promise.all([createDatabase(), createDatabase(), createDatabase()]);
  nodes.a = await startLeader('a');
  await waitFor('node-a produces', () => producing(nodes.a!), 90_000);
  [nodes.b, nodes.m1, nodes.m2] = await Promise.all([startLeader('b'), startMember('m1'), startMember('m2')]);
});

test.after.always(async () => {
  fakeLeader?.close();
  await Promise.all(Object.values(nodes).map((n) => n?.stop()));
  await deleteRedisPrefix(redis, prefix);
  redis.disconnect();
  await Promise.all(Object.values(dbs).map((db) => db?.drop()));
});

test.serial('members converge: after 30+ blocks each member EL and database hold the leader’s chain', async (t) => {
  const a = nodes.a!;
  await waitFor('30 blocks synced by both members', async () => (await lastSynced(nodes.m1!)) >= 30n && (await lastSynced(nodes.m2!)) >= 30n, 120_000, 500);
  const [s1, s2] = [await lastSynced(nodes.m1!), await lastSynced(nodes.m2!)];
  const target = s1 < s2 ? s1 : s2;
  const leaderRpc = (await health(a))!.executionClient.rpcUrl;
  const leaderHash = await elBlockHash(leaderRpc, target);
  for (const id of ['m1', 'm2'] as const) {
    const h = (await health(nodes[id]!))!;
    t.is(h.role, 'member');
    t.is(h.sync.source, a.apiUrl, `${id} follows the leader it found in the lease`);
    t.true(h.sync.totalSynced >= 30, `${id} counted its blocks`);
    t.is(typeof h.sync.lagBlocks, 'number');
    t.is(await elBlockHash(h.executionClient.rpcUrl, target), leaderHash, `${id} EL has the leader's block ${target}`);
    await assertSameChain(t, dbs[id]!, target, id);
  }
  const standby = (await health(nodes.b!))!;
  t.false(standby.isLeader);
  t.true(BigInt(standby.sync.lastSynced) >= target - 2n, 'the standby follows too, so its EL is at the committed head');
});

test.serial('a member restarted on its data dir resumes from its EL and database, loses nothing and stores nothing twice', async (t) => {
  const m1 = nodes.m1!;
  const before = await lastSynced(m1);
  t.is((await m1.stop()).code, 0);
  nodes.m1 = await startMember('m1', [], m1.dataDir);
  await waitFor('m1 syncs 5 more blocks after its restart', async () => (await lastSynced(nodes.m1!)) >= before + 5n, 120_000, 500);
  const upTo = await lastSynced(nodes.m1!);
  await assertSameChain(t, dbs.m1!, upTo, 'm1 after restart');
});

test.serial('SIGKILL of the leader: members follow the new leader by themselves, with no gap', async (t) => {
  const a = nodes.a!;
  const b = nodes.b!;
  a.child.kill('SIGKILL');
  await a.exited;
  await waitFor('node-b takes over', () => producing(b), 30_000);
  const takeoverHead = BigInt((await health(b))!.head.number);
  for (const id of ['m1', 'm2'] as const) {
    await waitFor(
      `${id} follows node-b past its takeover`,
      async () => {
        const h = await health(nodes[id]!);
        return h?.sync.source === b.apiUrl && BigInt(h.sync.lastSynced) >= takeoverHead + 5n;
      },
      60_000,
      500,
    );
    await assertSameChain(t, dbs[id]!, await lastSynced(nodes[id]!), `${id} across the failover`);
  }
});

test.serial('a payload with one byte altered is refused before the EL sees it; /health says why', async (t) => {
  const m2 = nodes.m2!;
  t.is((await m2.stop()).code, 0);
  const synced = (await rows(dbs.m2!)).at(-1)!.block_number;
  const sql = postgres(dbs.leaders!.url, { max: 1, types: { bigint: postgres.BigInt }, onnotice: () => {} });
  const [next] = await sql`SELECT * FROM payloads WHERE block_number = ${synced + 1n}`;
  await sql.end();
  t.truthy(next, 'the leaders committed the next block');
  const payload = Buffer.from(next!.payload_data as Uint8Array);
  // Flip one byte inside the hex of a header field (the last hex digit of stateRoot), keeping it valid hex.
  const at = payload.indexOf(Buffer.from('stateRoot')) + 'stateRoot'.length + 2 + 2 + 63; // str8 header, "0x", 63 digits
  payload[at] = payload[at] === 0x30 ? 0x31 : 0x30;
  const tampered = {
    block_number: Number(next!.block_number),
    block_hash: next!.block_hash,
    parent_hash: next!.parent_hash,
    payload_data: payload.toString('base64'),
    requests_data: Buffer.from(next!.requests_data as Uint8Array).toString('base64'),
    timestamp: Number(next!.timestamp),
    epoch: Number(next!.epoch),
    leader: next!.leader,
    tx_count: next!.tx_count,
    created_at: new Date().toISOString(),
  };
  fakeLeader = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    // Far ahead, so the member backfills over HTTP (the fake serves no feed).
    if (req.url === '/blocks/latest') return res.end(JSON.stringify({ ...tampered, block_number: tampered.block_number + 1000 }));
    if (req.url?.startsWith('/blocks?')) return res.end(JSON.stringify([tampered]));
    res.statusCode = 404;
    res.end('{}');
  });
  await new Promise<void>((resolve) => fakeLeader!.listen(0, '127.0.0.1', resolve));
  const fakeUrl = `http://127.0.0.1:${(fakeLeader.address() as AddressInfo).port}`;
  nodes.m2 = await startMember('m2', ['--leader-url', fakeUrl], m2.dataDir);
  const h = await waitFor(
    'm2 halts with a reason',
    async () => {
      const r = await nodes.m2!.health().catch(() => undefined);
      return r?.status === 503 && r.body.problems.sync ? r : undefined;
    },
    90_000,
    500,
  );
  t.regex(h.body.problems.sync, new RegExp(`syncing halted: block ${synced + 1n} failed verification`));
  t.is(BigInt(h.body.sync.lastSynced), synced, 'nothing executed past the last good block');
  t.is(await elBlockHash(h.body.executionClient.rpcUrl, synced + 1n), null, 'the EL never saw the tampered block');
  t.is((await rows(dbs.m2!)).at(-1)!.block_number, synced, 'nothing stored');
});
