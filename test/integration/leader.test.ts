import { join } from 'node:path';
import test from 'ava';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { freePorts } from '../../src/adapters/executionClient/freePort.js';
import { type BatonProcess, startBaton, waitFor } from '../helpers/batonProcess.js';
import { createDatabase, deleteRedisPrefix, elBlockHash, REDIS_ADDR, uniqueRedisPrefix } from '../helpers/services.js';

/**
 * One leader on the embedded EL, the shared Redis and the shared PostgreSQL, for the whole file:
 * the consistency check first, then start-up failures that reuse its EL.
 */
let leader: BatonProcess;
let db: Awaited<ReturnType<typeof createDatabase>>;
const prefix = uniqueRedisPrefix();
const redis = new Redis(`redis://${REDIS_ADDR}`);

test.before(async () => {
  db = await createDatabase();
  leader = await startBaton({
    args: ['--role', 'leader', '--redis-addr', REDIS_ADDR, '--redis-prefix', prefix, '--postgres-url', db.url, '--instance-id', 'leader-a'],
  });
});

test.after.always(async () => {
  await leader?.stop();
  await deleteRedisPrefix(redis, prefix);
  redis.disconnect();
  await db?.drop();
});

test.serial('a leader produces ≥ 20 blocks; PostgreSQL, the Redis Stream, /blocks and the EL agree on every hash', async (t) => {
  const health = await waitFor(
    '20 committed blocks',
    async () => {
      const h = await leader.health();
      return h.body.head?.number >= 21 ? h : undefined;
    },
    90_000,
  );
  t.is(health.status, 200);
  t.true(health.body.isLeader);
  t.is(health.body.role, 'leader');
  t.is(health.body.leaseBackend, 'redis');
  const rpcUrl: string = health.body.executionClient.rpcUrl;

  const sql = postgres(db.url, { max: 1, types: { bigint: postgres.BigInt } });
  const rows = await sql<{ block_number: bigint; block_hash: string; parent_hash: string; epoch: bigint }[]>`
    SELECT block_number, block_hash, parent_hash, epoch FROM payloads ORDER BY block_number`;
  await sql.end();
  t.true(rows.length >= 20, `${rows.length} rows`);
  t.is(rows[0]!.block_number, 1n, 'the chain starts right after genesis');

  const streamEntries = await redis.xrange(`${prefix}:blocks`, '-', '+');
  const streamHash = new Map(streamEntries.map(([id, fields]) => [id, fields[fields.indexOf('block_hash') + 1]]));
  const api = (await (await fetch(`${leader.apiUrl}/blocks?after=0&limit=1000`)).json()) as { block_number: number; block_hash: string; parent_hash: string }[];
  const apiHash = new Map(api.map((b) => [BigInt(b.block_number), b.block_hash]));

  let previous: string | null = await elBlockHash(rpcUrl, 0n);
  for (const row of rows) {
    const n = row.block_number;
    t.is<string | null, string | null>(row.parent_hash, previous, `parent link at ${n}`);
    t.is(await elBlockHash(rpcUrl, n), row.block_hash, `EL hash at ${n}`);
    t.is(streamHash.get(`${n}-0`), row.block_hash, `Stream hash at ${n}`);
    t.is(apiHash.get(n), row.block_hash, `/blocks hash at ${n}`);
    previous = row.block_hash;
  }
  const latest = (await (await fetch(`${leader.apiUrl}/blocks/latest`)).json()) as { block_number: number };
  t.true(latest.block_number >= rows.at(-1)!.block_number, '/blocks/latest is at least the last row read');
});

/** Run a node that must fail at start; returns its exit code and what it printed on stderr. */
async function failingStart(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const node = await startBaton({ args });
  let stderr = '';
  node.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const { code } = await node.exited;
  return { code, stderr: stderr.trim() };
}

test.serial('start-up failures print one line naming the flag and exit 2', async (t) => {
  const health = await leader.health();
  const engineUrl: string = health.body.executionClient.engineUrl;
  const jwtSecretFile = join(leader.dataDir, 'el', 'jwtsecret.hex');
  const [closedPort] = await freePorts(1);
  const external = ['--role', 'leader', '--eth-client-url', engineUrl, '--jwt-secret-file', jwtSecretFile];

  const cases: { name: string; args: string[]; flag: string }[] = [
    {
      name: 'unreachable EL',
      args: ['--role', 'leader', '--eth-client-url', `http://127.0.0.1:${closedPort}`, '--jwt-secret', 'ab'.repeat(32)],
      flag: '--eth-client-url',
    },
    { name: 'wrong JWT secret', args: ['--role', 'leader', '--eth-client-url', engineUrl, '--jwt-secret', 'cd'.repeat(32)], flag: '--jwt-secret' },
    { name: 'malformed JWT secret', args: ['--role', 'leader', '--jwt-secret', 'not-hex'], flag: '--jwt-secret' },
    { name: 'unreachable PostgreSQL', args: [...external, '--postgres-url', `postgres://postgres@127.0.0.1:${closedPort}/x`], flag: '--postgres-url' },
    { name: 'unreachable Redis', args: [...external, '--postgres-url', db.url, '--redis-addr', `127.0.0.1:${closedPort}`], flag: '--redis-addr' },
    { name: 'unknown flag', args: ['--role', 'leader', '--block-tme', '1s'], flag: '--block-tme' },
  ];
  for (const c of cases) {
    const { code, stderr } = await failingStart(c.args);
    t.is(code, 2, `${c.name}: exit code (stderr: ${stderr})`);
    t.is(stderr.split('\n').length, 1, `${c.name}: one line`);
    t.true(stderr.includes(c.flag), `${c.name}: names ${c.flag}: ${stderr}`);
  }
  t.is((await leader.health()).status, 200, 'the running leader is unaffected');
});
