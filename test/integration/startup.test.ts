/**
 * A node refuses what would hurt it, and says why at once: a busy address, a data dir another node
 * holds, a dependency that is unreachable or misconfigured. It keeps its embedded EL running, and
 * stops cleanly on Ctrl-C. One leader on the embedded default runs for the whole file; every refused
 * start is checked against it (it must be unaffected).
 */

import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import WebSocket from 'ws';
import { freePorts } from '../../src/adapters/executionClient/freePort.js';
import { type BatonProcess, startBaton, waitFor } from '../helpers/batonProcess.js';
import { startRedisServer } from '../helpers/redisServer.js';
import { createDatabase, POSTGRES_ADMIN_URL } from '../helpers/services.js';

let leader: BatonProcess;
let db: Awaited<ReturnType<typeof createDatabase>>;

/** The head the leader's `/health` reports, once it has one. */
async function headOf(node: BatonProcess): Promise<number> {
  const h = await node.health();
  return Number(h.body.head?.number ?? -1);
}

test.before(async () => {
  db = await createDatabase('baton_startup');
  leader = await startBaton({ args: ['--role', 'leader'], processGroup: true });
  await waitFor('the leader to commit two blocks', async () => (await headOf(leader)) >= 2, 90_000);
});

test.after.always(async () => {
  if (leader && leader.child.exitCode === null) await leader.stop();
  await db?.drop();
});

/** Starts a node that must be refused; returns its exit code, its stderr and how long it took. */
async function refusedStart(opts: Parameters<typeof startBaton>[0]): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = performance.now();
  const node = await startBaton(opts);
  let stderr = '';
  node.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const { code } = await node.exited;
  return { code, stderr: stderr.trim(), ms: performance.now() - started };
}

const portOf = (url: string) => Number(new URL(url).port);

test.serial('a busy --health-addr or --api-addr exits 2 naming the flag and the process holding the port', async (t) => {
  const [freeHealth, freeApi] = await freePorts(2);
  for (const { flag, ports } of [
    { flag: '--health-addr', ports: { health: portOf(leader.healthUrl), api: freeApi! } },
    { flag: '--api-addr', ports: { health: freeHealth!, api: portOf(leader.apiUrl) } },
  ]) {
    const { code, stderr } = await refusedStart({ args: ['--role', 'leader'], ports });
    t.is(code, 2, `${flag}: ${stderr}`);
    t.is(stderr.split('\n').length, 1, `${flag}: one line`);
    t.true(stderr.startsWith(`baton: ${flag}:`), `${flag} named first: ${stderr}`);
    t.true(stderr.includes(`pid ${leader.child.pid}`), `${flag}: names the holder's pid ${leader.child.pid}: ${stderr}`);
  }
  // Nobody shares the port: every answer comes from the leader.
  const ids = new Set<string>();
  for (let i = 0; i < 20; i++) ids.add((await leader.health()).body.instanceId);
  t.is(ids.size, 1, 'one node answers on the health port');
});

test.serial("a taken --el-rpc-port exits 2 naming the flag; the embedded EL's RPC answers on the port /health names", async (t) => {
  const elRpcUrl: string = (await leader.health()).body.executionClient.rpcUrl;
  const { code, stderr } = await refusedStart({ args: ['--role', 'leader', '--el-rpc-port', String(portOf(elRpcUrl))] });
  t.is(code, 2, stderr);
  t.is(stderr.split('\n').length, 1, `one line: ${stderr}`);
  t.true(stderr.startsWith('baton: --el-rpc-port:'), stderr);
  t.true(stderr.includes(String(portOf(elRpcUrl))), `names the port: ${stderr}`);
  const res = await fetch(elRpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
  });
  t.is(((await res.json()) as { result: string }).result, '0x7a69', "the leader's EL is unaffected");
});

test.serial('a second node on a held --data-dir exits 2 naming the directory and the holder, and touches nothing', async (t) => {
  const before = await leader.health();
  const elPid: number = before.body.executionClient.process.pid;
  const listing = async () => (await readdir(leader.dataDir, { recursive: true })).filter((f) => !f.startsWith('baton-') && !f.startsWith('pg')).sort();
  const filesBefore = await listing();
  const pidFile = await readFile(join(leader.dataDir, 'el', 'el.pid'), 'utf8');

  const { code, stderr } = await refusedStart({ args: ['--role', 'leader'], dataDir: leader.dataDir });
  t.is(code, 2, stderr);
  t.is(stderr.split('\n').length, 1);
  t.true(stderr.startsWith('baton: --data-dir:'), stderr);
  t.true(stderr.includes(leader.dataDir), `names the directory: ${stderr}`);
  t.true(stderr.includes(`pid ${leader.child.pid}`), `names the holder: ${stderr}`);

  t.notThrows(() => process.kill(elPid, 0), "the running node's EL is alive");
  t.is(await readFile(join(leader.dataDir, 'el', 'el.pid'), 'utf8'), pidFile, 'its pid file is untouched');
  t.deepEqual(await listing(), filesBefore, 'no file was added or removed');
  const head = await headOf(leader);
  await waitFor('the leader to keep producing', async () => (await headOf(leader)) > head, 30_000);
  t.is((await leader.health()).body.executionClient.process.pid, elPid, 'and still on the same EL');
});

test.serial('misconfigured or unreachable dependencies fail within 5 s, naming the flag and the cause', async (t) => {
  const health = await leader.health();
  const engineUrl: string = health.body.executionClient.engineUrl;
  const jwtSecretFile = join(leader.dataDir, 'el', 'jwtsecret.hex');
  const [closedPort, redisPort] = await freePorts(2);
  const redis: ChildProcess = await startRedisServer(redisPort!, ['--requirepass', 'right']);
  t.teardown(() => void redis.kill('SIGKILL'));
  const external = ['--role', 'leader', '--eth-client-url', engineUrl, '--jwt-secret-file', jwtSecretFile];
  const url = (path: string, user = 'postgres') => {
    const u = new URL(POSTGRES_ADMIN_URL);
    u.username = user;
    u.pathname = path;
    return u.toString();
  };

  // What the process takes to start, load the node and refuse at its first, local check (the data
  // dir the running leader holds): the 5 s budget is for a dependency check on top of that.
  const baseline = await refusedStart({ args: ['--role', 'leader'], dataDir: leader.dataDir });
  t.is(baseline.code, 2);
  const cases: { name: string; args: string[]; flag: string; cause: RegExp }[] = [
    {
      name: 'PostgreSQL unreachable',
      args: [...external, '--postgres-url', `postgres://postgres@127.0.0.1:${closedPort}/x`],
      flag: '--postgres-url',
      cause: /is unreachable/,
    },
    {
      name: 'database missing',
      args: [...external, '--postgres-url', url('/baton_no_such_db')],
      flag: '--postgres-url',
      cause: /has no database "baton_no_such_db"/,
    },
    {
      name: 'PostgreSQL role refused',
      args: [...external, '--postgres-url', url('/postgres', 'baton_no_such_role')],
      flag: '--postgres-url',
      cause: /refused the credentials/,
    },
    {
      name: 'Redis unreachable',
      args: [...external, '--postgres-url', db.url, '--redis-addr', `127.0.0.1:${closedPort}`],
      flag: '--redis-addr',
      cause: /is unreachable: .*ECONNREFUSED/,
    },
    {
      name: 'Redis password wrong',
      args: [...external, '--postgres-url', db.url, '--redis-addr', `127.0.0.1:${redisPort}`, '--redis-password', 'wrong'],
      flag: '--redis-password',
      cause: /refused the credentials/,
    },
    {
      name: 'etcd unreachable',
      args: [...external, '--postgres-url', db.url, '--lease-backend', 'etcd', '--etcd-endpoints', `http://127.0.0.1:${closedPort}`],
      flag: '--etcd-endpoints',
      cause: /does not answer/,
    },
    {
      name: 'postgres lease without a server',
      args: ['--role', 'leader', '--lease-backend', 'postgres'],
      flag: '--lease-backend',
      cause: /needs a PostgreSQL server/,
    },
    { name: 'a flag given twice', args: ['--role', 'leader', '--role', 'member'], flag: '--role', cause: /given twice/ },
  ];
  for (const c of cases) {
    const { code, stderr, ms } = await refusedStart({ args: c.args });
    t.is(code, 2, `${c.name}: exit code (stderr: ${stderr})`);
    t.is(stderr.split('\n').length, 1, `${c.name}: one line`);
    t.true(stderr.startsWith(`baton: ${c.flag}:`), `${c.name}: names ${c.flag} first: ${stderr}`);
    t.regex(stderr, c.cause, c.name);
    t.true(ms - baseline.ms < 5_000, `${c.name}: refused ${Math.round(ms - baseline.ms)} ms after a start refused at once would be`);
  }
  t.is((await leader.health()).status, 200, 'the running leader is unaffected');
});

test.serial('the embedded EL is restarted after it dies, and its restarts show on /health and /metrics', async (t) => {
  const before = (await leader.health()).body.executionClient;
  t.is(before.restarts, 0);
  process.kill(before.process.pid, 'SIGKILL');
  const after = await waitFor(
    'the EL to be restarted',
    async () => {
      const el = (await leader.health()).body.executionClient;
      return el.restarts === 1 && el.process.running && el.process.pid !== before.process.pid && el.reachable ? el : undefined;
    },
    60_000,
  );
  t.is(after.process.lastExit.signal, 'SIGKILL');
  t.is(after.engineUrl, before.engineUrl, 'on the same Engine API address');
  const metrics = await (await fetch(`${leader.healthUrl}/metrics`)).text();
  t.regex(metrics, /^baton_el_restarts_total 1$/m);
  const head = await headOf(leader);
  await waitFor('blocks to continue after the restart', async () => (await headOf(leader)) > head + 1, 60_000);
});

test.serial('Ctrl-C: feed clients get 1001, the node exits 0 and logs no error', async (t) => {
  const ws = new WebSocket(`${leader.apiUrl.replace('http', 'ws')}/feed`);
  const frames: string[] = [];
  ws.on('message', (data) => frames.push(data.toString()));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ op: 'subscribe', from: 1, encoding: 'json' }));
  await waitFor('a block on the feed', async () => frames.length > 0, 10_000);
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

  const logBefore = (await readFile(leader.logPath, 'utf8')).length;
  process.kill(-leader.child.pid!, 'SIGINT'); // what a terminal sends its foreground job
  t.is(await closed, 1001, 'close code: going away');
  const { code } = await leader.exited;
  t.is(code, 0);
  const lines = (await readFile(leader.logPath, 'utf8'))
    .slice(logBefore)
    .split('\n')
    .filter((l) => l.startsWith('{'));
  const errors = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level >= 50);
  t.deepEqual(
    errors.map((e) => e.msg),
    [],
    'nothing at error level or above while stopping',
  );
  t.true(lines.some((l) => l.includes('"msg":"Stopped"')));
});
