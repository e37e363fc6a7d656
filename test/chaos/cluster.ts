import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type EmbeddedEl, startEmbeddedEl } from '../../src/adapters/executionClient/embedded.js';
import { type BatonProcess, startBaton } from '../helpers/batonProcess.js';
import { EtcdCluster, freePort } from '../helpers/etcdCluster.js';
import { PostgresServer } from '../helpers/postgresServer.js';
import { startRedisServer } from '../helpers/redisServer.js';
import { type RpcBody, rpc } from '../helpers/services.js';
import { TcpProxy } from '../helpers/tcpProxy.js';

/** The admin token every chaos node shares: `baton_chaos` and `baton_leader` sit behind it. */
export const CHAOS_ADMIN_TOKEN = 'chaos-admin-token';

export type LeaseBackendName = 'redis' | 'etcd';

export interface ClusterOptions {
  leaders: number;
  members: number;
  leaseBackend: LeaseBackendName;
  leaseTtlMs: number;
  /** Where node data directories, logs and the Redis AOF go. */
  dir: string;
  log: (line: string) => void;
}

type Db = Awaited<ReturnType<PostgresServer['createDatabase']>>;

/**
 * A node's execution client, run by the harness (not embedded in Baton), so a fault can SIGKILL or
 * SIGSTOP it without touching Baton, and restart it later on the same data and ports, as an
 * operator's process manager restarts a Geth. Baton reaches its Engine API through `engineProxy`
 * (cut or slowed by the harness) and its plain JSON-RPC directly.
 */
export class ChaosEl {
  private el: EmbeddedEl | null = null;

  private constructor(
    readonly dataDir: string,
    readonly ports: { engine: number; rpc: number; p2p: number },
    readonly engineProxy: TcpProxy,
  ) {}

  static async start(dataDir: string): Promise<ChaosEl> {
    const ports = { engine: await freePort(), rpc: await freePort(), p2p: await freePort() };
    const el = new ChaosEl(dataDir, ports, await TcpProxy.start({ port: ports.engine }));
    await el.restart();
    return el;
  }

  get rpcUrl(): string {
    return `http://127.0.0.1:${this.ports.rpc}`;
  }

  get jwtSecretFile(): string {
    return join(this.dataDir, 'jwtsecret.hex');
  }

  get running(): boolean {
    return this.el !== null;
  }

  async restart(): Promise<void> {
    this.el = await startEmbeddedEl({ dataDir: this.dataDir, ports: this.ports, logLevel: 'warn' });
  }

  async kill(): Promise<void> {
    const el = this.el;
    this.el = null;
    if (!el) return;
    process.kill(el.pid, 'SIGKILL');
    await el.exited;
  }

  signal(sig: 'SIGSTOP' | 'SIGCONT'): void {
    if (this.el) process.kill(this.el.pid, sig);
  }

  async stop(): Promise<void> {
    this.signal('SIGCONT');
    await this.el?.stop();
    this.el = null;
    await this.engineProxy.close();
  }
}

/** The one line a node refusing to start writes (`baton: --flag: why`, exit code 2), if it wrote one. */
async function startupRefusal(logPath: string): Promise<string | null> {
  const text = await readFile(logPath, 'utf8').catch(() => '');
  return text.split('\n').findLast((line) => line.startsWith('baton: ')) ?? null;
}

/**
 * One node of the chaos cluster. Every link it has to a shared service goes through its own TCP
 * proxy, so one node can be partitioned from Redis or PostgreSQL while the others are not; its API
 * is advertised (with the lease) through a proxy too, so members and standbys can be cut off from
 * it while the harness's own recorders, which use the direct port, still see it.
 */
export class ChaosNode {
  proc: BatonProcess | null = null;
  /** Bumped on every start: restart counts on `/health` are per process. */
  incarnation = 0;
  /** Set while the harness itself stops or kills the node, so an exit then is not "unexpected". */
  expectedDown = false;
  /** Set at teardown: the node is never started again, whatever exits. */
  retired = false;
  unexpectedExits = 0;

  constructor(
    readonly name: string,
    readonly role: 'leader' | 'member',
    readonly dataDir: string,
    readonly ports: { health: number; api: number },
    readonly redisProxy: TcpProxy,
    readonly pgProxy: TcpProxy,
    readonly apiProxy: TcpProxy,
    readonly el: ChaosEl,
    private readonly args: string[],
    private readonly log: (line: string) => void,
  ) {}

  get apiUrl(): string {
    return `http://127.0.0.1:${this.ports.api}`;
  }

  get healthUrl(): string {
    return `http://127.0.0.1:${this.ports.health}`;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.child.exitCode === null && this.proc.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.retired) return;
    this.incarnation++;
    this.expectedDown = false;
    const proc = await startBaton({ dataDir: this.dataDir, ports: this.ports, args: this.args, env: { BATON_CHAOS: 'true' } });
    this.proc = proc;
    void proc.exited.then(async ({ code, signal }) => {
      if (this.proc !== proc || this.expectedDown || this.retired) return;
      // A process manager's job: a node that exits by itself (supervisor escalation) is started again.
      this.unexpectedExits++;
      const why = await startupRefusal(proc.logPath);
      this.log(`${this.name} exited by itself (code ${code}, signal ${signal}${why ? `: ${why}` : ''}); restarting it as a process manager would`);
      // A second's pause, as a process manager's restart delay: a node whose EL is down exits at start-up until it is back.
      void sleep(1_000).then(() => this.start());
    });
  }

  /** SIGKILL Baton (its EL, the harness's, keeps running). */
  async kill(): Promise<void> {
    this.expectedDown = true;
    const proc = this.proc;
    if (!proc) return;
    proc.child.kill('SIGKILL');
    await proc.exited;
  }

  signal(sig: 'SIGSTOP' | 'SIGCONT'): void {
    this.proc?.child.kill(sig);
  }

  async stop(): Promise<void> {
    this.expectedDown = true;
    await this.proc?.stop();
  }

  async health(): Promise<{ status: number; body: Record<string, any> } | null> {
    try {
      const res = await fetch(`${this.healthUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    } catch {
      return null;
    }
  }

  rpc(method: string, params: unknown): Promise<RpcBody> {
    return rpc(this, method, params, { token: CHAOS_ADMIN_TOKEN, timeoutMs: 5_000 });
  }
}

/** A Redis the harness owns (free port, append-only file fsynced on every write), so it can be killed and restarted without losing what it acknowledged. */
export class ChaosRedis {
  private child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(dir: string): Promise<ChaosRedis> {
    const redis = new ChaosRedis(await freePort(), dir);
    await redis.restart();
    return redis;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async restart(): Promise<void> {
    this.child = await startRedisServer(this.port, ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir]);
  }
}

/**
 * The chaos cluster (issues 9, 16): `leaders` leader-capable nodes sharing one PostgreSQL database
 * (the fence lives there: DESIGN §4), `members` members with a database each, all on one
 * PostgreSQL cluster the harness owns (so it can be restarted); every node with its own execution
 * client, run by the harness; one Redis the harness owns; with `leaseBackend: etcd`, a 3-member
 * etcd cluster.
 */
export class ChaosCluster {
  private constructor(
    readonly opts: ClusterOptions,
    readonly nodes: ChaosNode[],
    readonly redis: ChaosRedis,
    readonly postgres: PostgresServer,
    readonly etcd: EtcdCluster | null,
    readonly prefix: string,
    readonly leadersDb: Db,
    readonly memberDbs: Map<string, Db>,
    private readonly proxies: TcpProxy[],
  ) {}

  static async start(opts: ClusterOptions): Promise<ChaosCluster> {
    // etcd first: without its binary the run fails at once, before anything else is started.
    const etcd = opts.leaseBackend === 'etcd' ? await EtcdCluster.start(3) : null;
    let redis: ChaosRedis | undefined;
    let pg: PostgresServer | undefined;
    const els: ChaosEl[] = [];
    const proxies: TcpProxy[] = [];
    const nodes: ChaosNode[] = [];
    try {
      const redisDir = await mkdtemp(join(opts.dir, 'redis-'));
      redis = await ChaosRedis.start(redisDir);
      const prefix = 'chaos';
      pg = await PostgresServer.start();
      const leadersDb = await pg.createDatabase('baton_chaos');
      const memberDbs = new Map<string, Db>();
      const specs = [
        ...Array.from({ length: opts.leaders }, (_, i) => ({ name: `leader-${i + 1}`, role: 'leader' as const })),
        ...Array.from({ length: opts.members }, (_, i) => ({ name: `member-${i + 1}`, role: 'member' as const })),
      ];
      for (const spec of specs) {
        const db = spec.role === 'leader' ? leadersDb : await pg.createDatabase('baton_chaos');
        if (spec.role === 'member') memberDbs.set(spec.name, db);
        const ports = { health: await freePort(), api: await freePort() };
        const dbUrl = new URL(db.url);
        const [redisProxy, pgProxy, apiProxy] = await Promise.all([
          TcpProxy.start({ port: redis.port }),
          TcpProxy.start({ host: dbUrl.hostname, port: Number(dbUrl.port || 5432) }),
          TcpProxy.start({ port: ports.api }),
        ]);
        proxies.push(redisProxy, pgProxy, apiProxy);
        dbUrl.host = pgProxy.address;
        const dataDir = await mkdtemp(join(opts.dir, `${spec.name}-`));
        const el = await ChaosEl.start(join(dataDir, 'external-el'));
        els.push(el);
        const args = [
          '--eth-client-url',
          `http://${el.engineProxy.address}`,
          '--eth-rpc-url',
          el.rpcUrl,
          '--jwt-secret-file',
          el.jwtSecretFile,
          '--role',
          spec.role,
          '--instance-id',
          spec.name,
          '--redis-addr',
          redisProxy.address,
          '--redis-prefix',
          prefix,
          '--postgres-url',
          dbUrl.toString(),
          '--lease-backend',
          opts.leaseBackend,
          ...(etcd ? ['--etcd-endpoints', etcd.endpoints.join(',')] : []),
          '--lease-ttl',
          `${opts.leaseTtlMs}ms`,
          '--mempool-watcher-lock-ttl',
          '3s',
          '--mempool-batch-size',
          '20',
          '--admin-token',
          CHAOS_ADMIN_TOKEN,
          '--advertise-url',
          `http://${apiProxy.address}`,
        ];
        nodes.push(new ChaosNode(spec.name, spec.role, dataDir, ports, redisProxy, pgProxy, apiProxy, el, args, opts.log));
      }
      const cluster = new ChaosCluster(opts, nodes, redis, pg, etcd, prefix, leadersDb, memberDbs, proxies);
      // The first leader alone, so the chain starts without a race; then everyone else at once.
      await nodes[0]!.start();
      await Promise.all(nodes.slice(1).map((n) => n.start()));
      return cluster;
    } catch (err) {
      // Whatever was started goes too: a leftover child process would keep the test process alive.
      for (const node of nodes) node.retired = true;
      await Promise.all(nodes.map((n) => n.stop().catch(() => {})));
      await Promise.all(proxies.map((p) => p.close()));
      await Promise.all(els.map((el) => el.stop().catch(() => {})));
      await redis?.kill();
      await etcd?.stop();
      await pg?.destroy();
      throw err;
    }
  }

  get leaders(): ChaosNode[] {
    return this.nodes.filter((n) => n.role === 'leader');
  }

  get members(): ChaosNode[] {
    return this.nodes.filter((n) => n.role === 'member');
  }

  /** The node that says it leads and produces, or null. */
  async activeLeader(): Promise<ChaosNode | null> {
    for (const node of this.leaders) {
      const h = await node.health();
      if (h?.body.isLeader && h.body.producer?.state === 'producing') return node;
    }
    return null;
  }

  /** From now on no node is started again (an interrupt may already be killing them). */
  retire(): void {
    for (const node of this.nodes) node.retired = true;
  }

  async stop(keepData: boolean): Promise<void> {
    this.retire();
    await Promise.all(this.nodes.map((n) => n.stop().catch(() => {})));
    await Promise.all(this.proxies.map((p) => p.close()));
    await Promise.all(this.nodes.map((n) => n.el.stop().catch(() => {})));
    await this.redis.kill();
    await this.etcd?.stop();
    if (keepData) await this.postgres.stop().catch(() => {});
    else {
      await this.postgres.destroy();
      await rm(this.opts.dir, { recursive: true, force: true });
    }
  }
}

/** A fresh working directory for one chaos run. */
export function chaosDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'baton-chaos-'));
}
