import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { waitFor } from '../helpers/batonProcess.js';
import { deleteRedisPrefix, POSTGRES_ADMIN_URL, REDIS_ADDR } from '../helpers/services.js';

/**
 * `npm run cluster` as an operator uses it: 3 leader-capable nodes and a member on embedded ELs,
 * real PostgreSQL and Redis. It produces blocks, survives a SIGKILL of the leader (a standby takes
 * over; the member follows it onto one chain), and stops every process on SIGINT.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const name = `baton_cltest_${randomBytes(3).toString('hex')}`;
let dir = '';
let cluster: ChildProcess | null = null;
let output = '';

interface ClusterNode {
  name: string;
  role: 'leader' | 'member';
  pid: number;
  healthUrl: string;
  apiUrl: string;
  dataDir: string;
}

async function health(node: ClusterNode): Promise<Record<string, any> | undefined> {
  const res = await fetch(`${node.healthUrl}/health`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
  return (await res?.json()) as Record<string, any> | undefined;
}

async function blockHash(node: ClusterNode, n: number): Promise<string | undefined> {
  const res = await fetch(`${node.apiUrl}/blocks/${n}`, { signal: AbortSignal.timeout(2_000) });
  return res.ok ? ((await res.json()) as { block_hash: string }).block_hash : undefined;
}

/** A process that still runs: a zombie (killed, not yet reaped) has an empty command line. */
const alive = async (pid: number) => (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')) !== '';

test.after.always(async () => {
  // A failed run may leave the script or its nodes (own process groups) behind: end them by pid.
  const manifest = dir ? await readFile(join(dir, 'cluster.json'), 'utf8').catch(() => '') : '';
  const nodes: ClusterNode[] = manifest ? JSON.parse(manifest).nodes : [];
  if (cluster?.exitCode === null) cluster.kill('SIGKILL');
  for (const n of nodes) {
    try {
      // The node's process group: it and its embedded EL, which outlives a SIGKILLed node.
      if (n.pid) process.kill(-n.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const sql = postgres(POSTGRES_ADMIN_URL, { max: 1, onnotice: () => {} });
  for (const db of [name, `${name}_member_1`]) await sql.unsafe(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await sql.end();
  const redis = new Redis(`redis://${REDIS_ADDR}`);
  await deleteRedisPrefix(redis, name);
  redis.disconnect();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('npm run cluster: blocks, a leader SIGKILLed and replaced, the member following, a clean stop', async (t) => {
  t.timeout(600_000);
  dir = await mkdtemp(join(tmpdir(), 'baton-cluster-'));
  cluster = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'scripts/cluster.ts',
      '--dir',
      dir,
      '--name',
      name,
      '--base-port',
      '0',
      '--fresh',
      '--postgres-url',
      POSTGRES_ADMIN_URL,
      '--redis-addr',
      REDIS_ADDR,
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  cluster.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  cluster.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => cluster!.on('exit', (code) => resolve(code)));
  t.teardown(() => t.log(output.split('\n').slice(-30).join('\n')));

  const nodes = await waitFor('cluster.json', async () => JSON.parse(await readFile(join(dir, 'cluster.json'), 'utf8')).nodes as ClusterNode[], 60_000);
  t.deepEqual(
    nodes.map((n) => n.name),
    ['leader-1', 'leader-2', 'leader-3', 'member-1'],
  );
  t.regex(output, /leader-1 .*health http:\/\/127\.0\.0\.1:\d+\/health .*api http:\/\/127\.0\.0\.1:\d+/, 'prints where each node answers');

  const leaderNodes = nodes.filter((n) => n.role === 'leader');
  const member = nodes.find((n) => n.role === 'member')!;
  const first = await waitFor(
    'a leader past block 10',
    async () => {
      for (const n of leaderNodes) {
        const h = await health(n);
        if (h?.isLeader && h.head?.number >= 10) return { node: n, epoch: h.epoch as number, head: h.head.number as number };
      }
      return undefined;
    },
    300_000,
    500,
  );
  await waitFor('the member synced past block 10', async () => ((await health(member))?.sync?.lastSynced ?? -1) >= 10, 120_000, 500);

  process.kill(first.node.pid, 'SIGKILL');
  const standbys = leaderNodes.filter((n) => n !== first.node);
  const second = await waitFor(
    'a standby takes over and builds on',
    async () => {
      for (const n of standbys) {
        const h = await health(n);
        if (h?.isLeader && h.epoch > first.epoch && h.head?.number > first.head + 3) return { node: n, head: h.head.number as number };
      }
      return undefined;
    },
    120_000,
    500,
  );
  t.true(standbys.includes(second.node));
  await waitFor('the member follows the new leader', async () => ((await health(member))?.sync?.lastSynced ?? -1) >= second.head, 120_000, 500);

  for (const n of [first.head - 1, first.head + 1, second.head]) {
    const [fromLeader, fromMember] = await Promise.all([blockHash(second.node, n), blockHash(member, n)]);
    t.truthy(fromLeader, `block ${n} on the new leader`);
    t.is(fromMember, fromLeader, `block ${n}: the member holds the leader's block`);
  }

  cluster.kill('SIGINT');
  t.is(await exited, 0, 'the cluster script exits 0 after Ctrl-C');
  t.regex(output, /stopped/);
  for (const n of nodes) t.false(await alive(n.pid), `${n.name} (pid ${n.pid}) is gone`);
  for (const n of nodes) {
    const elPid = Number(await readFile(join(n.dataDir, 'el', 'el.pid'), 'utf8').catch(() => '0'));
    t.true(elPid === 0 || !(await alive(elPid)), `${n.name}'s embedded EL is gone`);
  }
});
