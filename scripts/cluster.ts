/**
 * `npm run cluster`: a local Baton cluster without Docker, for trying failover by hand. It starts
 * three leader-capable nodes and one member, each with its own embedded execution client and data
 * directory under `.cluster/`, on the local PostgreSQL (the leaders share one database, each member
 * has its own; created if missing) and Redis (Stream, shared mempool and the `redis` lease, under
 * one key prefix). It prints where each node answers, then a status line whenever leadership or
 * liveness changes, and stops every node on Ctrl-C.
 *
 *   npm run cluster [-- [options] [-- <flags for every node>]]
 *
 *   --leaders <n>         leader-capable nodes (default 3)
 *   --members <n>         members (default 1)
 *   --base-port <port>    node i listens on base+1+i (health), base+11+i (API), its EL's RPC on base+21+i; 0 = free ports (default 18080)
 *   --dir <path>          data directories, logs and cluster.json (default .cluster)
 *   --name <name>         database name and Redis key prefix (default baton_cluster)
 *   --postgres-url <url>  PostgreSQL to create the databases on (default postgres://postgres@127.0.0.1:5432/postgres)
 *   --redis-addr <addr>   Redis (default 127.0.0.1:6379)
 *   --fresh               start a new chain: delete the directory, the databases and the Redis keys first
 *
 * Run in the foreground of a terminal, type `kill <node>` (SIGKILL), `stop <node>` (SIGTERM) or
 * `start <node>` and Enter while it runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { freePorts } from '../src/adapters/executionClient/freePort.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
/** Health is polled this often; a status line is printed when the picture changes. */
const POLL_MS = 1_000;
/** ...and at least this often, so heads can be seen advancing. */
const HEARTBEAT_MS = 15_000;
/** SIGTERM grace per node: the embedded EL alone may take 10 s to close its databases. */
const STOP_TIMEOUT_MS = 30_000;
/** Known to every node of the cluster, so the admin JSON-RPC (transfer, pause) can be tried. */
const ADMIN_TOKEN = 'cluster-admin';

interface NodeSpec {
  name: string;
  role: 'leader' | 'member';
  dataDir: string;
  log: string;
  healthUrl: string;
  apiUrl: string;
  args: string[];
}

interface Running {
  spec: NodeSpec;
  child: ChildProcess | null;
  exited: Promise<void>;
}

function fail(message: string): never {
  process.stderr.write(`cluster: ${message}\n`);
  process.exit(2);
}

function parseOptions() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      leaders: { type: 'string', default: '3' },
      members: { type: 'string', default: '1' },
      'base-port': { type: 'string', default: '18080' },
      dir: { type: 'string', default: '.cluster' },
      name: { type: 'string', default: 'baton_cluster' },
      'postgres-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
      'redis-addr': { type: 'string', default: '127.0.0.1:6379' },
      fresh: { type: 'boolean', default: false },
    },
  });
  const count = (flag: 'leaders' | 'members', min: number) => {
    const n = Number(values[flag]);
    if (!Number.isInteger(n) || n < min || n > 9) fail(`--${flag} must be an integer from ${min} to 9`);
    return n;
  };
  // The name becomes SQL identifiers unquoted and a Redis key prefix: keep it to one safe alphabet.
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(values.name)) fail('--name must be lower-case letters, digits and _ (it names databases)');
  const basePort = Number(values['base-port']);
  if (!Number.isInteger(basePort) || basePort < 0 || basePort > 65_500) fail('--base-port must be a port number, or 0 for free ports');
  // Every node has its own data dir, so a file lease would not be shared: each node would lead alone.
  if (positionals.some((a, i) => (a === '--lease-backend' && positionals[i + 1] === 'file') || a === '--lease-backend=file')) {
    fail('the file lease is per data directory; use redis (the default here), postgres or etcd');
  }
  const [leaders, members] = [count('leaders', 1), count('members', 0)];
  // Health ports are base+1…base+10 and API ports base+11…: more nodes would overlap.
  if (leaders + members > 10) fail('at most 10 nodes (--leaders + --members)');
  return {
    leaders,
    members,
    basePort,
    dir: resolve(ROOT, values.dir),
    name: values.name,
    postgresUrl: values['postgres-url'],
    redisAddr: values['redis-addr'],
    fresh: values.fresh,
    nodeArgs: positionals,
  };
}
type Options = ReturnType<typeof parseOptions>;

function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Creates each database if missing (after dropping it with `--fresh`). */
async function prepareDatabases(opts: Options, databases: string[]): Promise<void> {
  const sql = postgres(opts.postgresUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    for (const db of databases) {
      if (opts.fresh) await sql.unsafe(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      const [exists] = await sql`SELECT 1 FROM pg_database WHERE datname = ${db}`;
      if (!exists) await sql.unsafe(`CREATE DATABASE ${db}`);
    }
  } catch (err) {
    fail(`PostgreSQL at ${opts.postgresUrl}: ${(err as Error).message} (set --postgres-url)`);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/** Checks Redis answers; with `--fresh` deletes every key under the cluster's prefix. */
async function prepareRedis(opts: Options): Promise<void> {
  const redis = new Redis(/^rediss?:\/\//.test(opts.redisAddr) ? opts.redisAddr : `redis://${opts.redisAddr}`, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    if (opts.fresh) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${opts.name}:*`, 'COUNT', 1000);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } else await redis.ping();
  } catch (err) {
    fail(`Redis at ${opts.redisAddr}: ${(err as Error).message} (set --redis-addr)`);
  } finally {
    redis.disconnect();
  }
}

async function nodeSpecs(opts: Options): Promise<NodeSpec[]> {
  const names = [...Array.from({ length: opts.leaders }, (_, i) => `leader-${i + 1}`), ...Array.from({ length: opts.members }, (_, i) => `member-${i + 1}`)];
  const free = opts.basePort === 0 ? await freePorts(names.length * 2) : [];
  return names.map((name, i) => {
    const role = name.startsWith('leader') ? 'leader' : 'member';
    const healthPort = opts.basePort === 0 ? free[2 * i]! : opts.basePort + 1 + i;
    const apiPort = opts.basePort === 0 ? free[2 * i + 1]! : opts.basePort + 11 + i;
    // Each node's embedded EL needs its own RPC port: 0 (free) with free ports, else next to the API ports.
    const elRpcPort = opts.basePort === 0 ? 0 : opts.basePort + 21 + i;
    const dataDir = join(opts.dir, name);
    const database = role === 'leader' ? opts.name : `${opts.name}_${name.replace('-', '_')}`;
    const args = [
      '--role',
      role,
      '--instance-id',
      name,
      '--data-dir',
      dataDir,
      '--health-addr',
      `127.0.0.1:${healthPort}`,
      '--api-addr',
      `127.0.0.1:${apiPort}`,
      '--el-rpc-port',
      String(elRpcPort),
      '--postgres-url',
      databaseUrl(opts.postgresUrl, database),
      '--redis-addr',
      opts.redisAddr,
      '--redis-prefix',
      opts.name,
      '--admin-token',
      ADMIN_TOKEN,
      ...opts.nodeArgs,
    ];
    return { name, role, dataDir, log: join(dataDir, 'baton.log'), healthUrl: `http://127.0.0.1:${healthPort}`, apiUrl: `http://127.0.0.1:${apiPort}`, args };
  });
}

/** The database behind a node's `--postgres-url`. */
const databaseOf = (spec: NodeSpec) => new URL(spec.args[spec.args.indexOf('--postgres-url') + 1]!).pathname.slice(1);

/** The node's environment: ours without BATON_* variables, so a developer's shell cannot reconfigure the cluster. */
function nodeEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BATON_')));
}

/** Spawns the node of `node.spec` and records it in `node` until it exits. */
function launch(node: Running): void {
  const { spec } = node;
  mkdirSync(spec.dataDir, { recursive: true });
  const log = openSync(spec.log, 'a');
  // Its own process group: Ctrl-C reaches only this script, which then stops the nodes in order.
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...spec.args], { cwd: ROOT, env: nodeEnv(), stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  node.child = child;
  node.exited = new Promise((resolveExit) =>
    child.on('exit', (code, signal) => {
      node.child = null;
      if (!stopping) {
        say(`${spec.name} (pid ${child.pid}) exited (${signal ?? `code ${code}`}); \`start ${spec.name}\` restarts it. Last log lines:`);
        process.stdout.write(tail(spec.log, 5));
      }
      resolveExit();
    }),
  );
}

/** SIGKILL a node and everything it started (its process group: the embedded EL too). */
function killGroup(node: Running): void {
  try {
    if (node.child?.pid) process.kill(-node.child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function tail(path: string, lines: number): string {
  try {
    return `${readFileSync(path, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(-lines)
      .map((l) => `    ${l.slice(0, 300)}`)
      .join('\n')}\n`;
  } catch {
    return '';
  }
}

/**
 * A node killed with SIGKILL leaves its embedded EL running (the node restarts over it, or this
 * kills it at shutdown). Only a process whose command line names the node's EL data dir is killed;
 * resolves once it is gone (a zombie has an empty command line), so "stopped" means stopped.
 */
async function killOrphanedEl(spec: NodeSpec): Promise<void> {
  const elDir = join(spec.dataDir, 'el');
  const pid = Number(await readFile(join(elDir, 'el.pid'), 'utf8').catch(() => ''));
  if (!Number.isInteger(pid) || pid <= 0) return;
  const cmdline = () => readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!(await cmdline()).includes(`--dataDir=${elDir}`)) return;
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50 && (await cmdline()) !== ''; i++) await new Promise((r) => setTimeout(r, 100));
}

const say = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
/** Set on the first SIGINT/SIGTERM; node exits are expected from then on. */
let stopping = false;
/**
 * A second signal within this window is the same Ctrl-C relayed by npm and tsx, not an impatient
 * operator: only a later one kills the nodes without waiting.
 */
const RELAYED_SIGNAL_MS = 2_000;

interface Health {
  isLeader?: boolean;
  epoch?: number | null;
  head?: { number: number } | null;
  sync?: { lastSynced: number } | null;
  status?: string;
}

async function health(spec: NodeSpec): Promise<Health | null> {
  try {
    const res = await fetch(`${spec.healthUrl}/health`, { signal: AbortSignal.timeout(POLL_MS) });
    return (await res.json()) as Health;
  } catch {
    return null;
  }
}

/** One line: who leads, at which epoch, and each node's head (leaders) or last synced block (members). */
async function statusLine(nodes: Running[]): Promise<{ key: string; line: string }> {
  const reports = await Promise.all(nodes.map(async (n) => ({ n, h: n.child ? await health(n.spec) : null })));
  const leader = reports.find((r) => r.h?.isLeader);
  const parts = reports.map(({ n, h }) => {
    if (!n.child) return `${n.spec.name} down`;
    if (!h) return `${n.spec.name} starting`;
    const at = n.spec.role === 'member' ? `synced ${h.sync?.lastSynced ?? '-'}` : `head ${h.head?.number ?? '-'}`;
    return `${n.spec.name} ${at}${h.status === 'ok' ? '' : ' (unhealthy)'}`;
  });
  const lead = leader ? `leader ${leader.n.spec.name} epoch ${leader.h!.epoch}` : 'no leader';
  // Printed when leadership, liveness or health changes, not on every block.
  const key = [lead, ...reports.map(({ n, h }) => `${n.spec.name}:${!n.child ? 'down' : !h ? 'starting' : h.status}`)].join('|');
  return { key, line: `${lead} | ${parts.join(' | ')}` };
}

async function main(): Promise<void> {
  const opts = parseOptions();
  const specs = await nodeSpecs(opts);
  if (opts.fresh) rmSync(opts.dir, { recursive: true, force: true });
  await prepareDatabases(opts, [...new Set(specs.map(databaseOf))]);
  await prepareRedis(opts);
  mkdirSync(opts.dir, { recursive: true });

  const nodes: Running[] = specs.map((spec) => ({ spec, child: null, exited: Promise.resolve() }));
  nodes.forEach(launch);
  /** `cluster.json`: every node's URLs, data dir, log and current pid, for scripts and tests. */
  const writeManifest = () => {
    const manifest = { adminToken: ADMIN_TOKEN, redisPrefix: opts.name, nodes: nodes.map((n) => ({ ...n.spec, pid: n.child?.pid ?? null })) };
    writeFileSync(join(opts.dir, 'cluster.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  };
  writeManifest();

  const rel = (p: string) => relative(process.cwd(), p) || '.';
  process.stdout.write(
    `\nBaton cluster "${opts.name}": ${opts.leaders} leader-capable node(s), ${opts.members} member(s); PostgreSQL ${opts.postgresUrl}, Redis ${opts.redisAddr}\n\n`,
  );
  for (const n of nodes) {
    process.stdout.write(
      `  ${n.spec.name.padEnd(9)} pid ${String(n.child?.pid).padEnd(7)} health ${n.spec.healthUrl}/health   api ${n.spec.apiUrl}   log ${rel(n.spec.log)}\n`,
    );
  }
  const first = nodes[0]!.spec;
  process.stdout.write(
    [
      '',
      `  curl -s ${first.healthUrl}/health          # role, isLeader, holder, epoch, head, problems`,
      `  curl -s ${first.apiUrl}/blocks/latest      # or open ${first.apiUrl}/ for the live status page`,
      `  admin token: ${ADMIN_TOKEN} (Authorization: Bearer …) · nodes: ${rel(join(opts.dir, 'cluster.json'))}`,
      `  ${process.stdin.isTTY ? 'type `kill <node>` (SIGKILL), `stop <node>` (SIGTERM) or `start <node>`; ' : ''}Ctrl-C stops everything`,
      '',
    ].join('\n'),
  );

  let lastKey = '';
  let lastPrinted = 0;
  const poll = setInterval(() => {
    void statusLine(nodes).then(({ key, line }) => {
      if (stopping || (key === lastKey && performance.now() - lastPrinted < HEARTBEAT_MS)) return;
      lastKey = key;
      lastPrinted = performance.now();
      say(line);
    });
  }, POLL_MS);

  const byName = (name: string) => nodes.find((n) => n.spec.name === name);
  // Only from a terminal: a script or test drives the nodes by pid (see cluster.json) instead.
  const commands = process.stdin.isTTY ? createInterface({ input: process.stdin }) : null;
  commands?.on('line', (line) => {
    const [cmd, name] = line.trim().split(/\s+/);
    const node = name ? byName(name) : undefined;
    if (!cmd) return;
    if (!node || !['kill', 'stop', 'start'].includes(cmd)) return say(`commands: kill|stop|start <${nodes.map((n) => n.spec.name).join('|')}>`);
    if (cmd === 'start') {
      if (node.child) return say(`${name} is running (pid ${node.child.pid})`);
      launch(node);
      writeManifest();
      return say(`${name} started (pid ${node.child!.pid})`);
    }
    if (!node.child) return say(`${name} is not running`);
    say(`${cmd === 'kill' ? 'SIGKILL' : 'SIGTERM'} → ${name} (pid ${node.child.pid})`);
    node.child.kill(cmd === 'kill' ? 'SIGKILL' : 'SIGTERM');
  });

  let stoppingSince = 0;
  const shutdown = async () => {
    if (stopping) {
      if (performance.now() - stoppingSince < RELAYED_SIGNAL_MS) return;
      say('second signal: killing every node now');
      nodes.forEach(killGroup);
      return;
    }
    stopping = true;
    stoppingSince = performance.now();
    clearInterval(poll);
    commands?.close();
    say('stopping: SIGTERM to every node (leaders release the lease, ELs close their databases)');
    for (const n of nodes) n.child?.kill('SIGTERM');
    const timeout = setTimeout(() => {
      say(`still running after ${STOP_TIMEOUT_MS / 1000} s: SIGKILL`);
      nodes.forEach(killGroup);
    }, STOP_TIMEOUT_MS);
    await Promise.all(nodes.map((n) => n.exited));
    clearTimeout(timeout);
    await Promise.all(nodes.map((n) => killOrphanedEl(n.spec)));
    say('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
}

await main();
