import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { portIsFree } from '../../src/adapters/executionClient/freePort.js';

/** The `etcd` binary (Debian's `etcd-server` package installs `/usr/bin/etcd`; it ships no etcdctl). */
const ETCD_BIN = process.env.BATON_TEST_ETCD_BIN ?? 'etcd';

/**
 * Raft timing for tests. etcd's minimum lease TTL is ceil(1.5 × election timeout) in seconds:
 * 2 s with the default 1 s election timeout, 1 s with this one, so 1 s leases work in tests.
 */
const HEARTBEAT_MS = 50;
const ELECTION_MS = 500;

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  process: ChildProcess | undefined;
}

/**
 * Below Linux's ephemeral range (32768–60999): a port the kernel handed out with `listen(0)`
 * is soon reused as the local port of some outgoing connection, so a killed member could not
 * get its own port back on restart.
 */
const PORT_RANGE = [20_000, 32_000] as const;

/** Ports this process has handed out: a port is free again while its holder is down (a killed node, a stopped EL), and must not go to another. */
const handedOut = new Set<number>();

/**
 * A port that is free now, outside the ephemeral range, and never handed out before in this
 * process: the chaos cluster allocates about forty, and a repeat drawn while a node was down gave
 * its health port to another node's EL. The race with other processes is accepted in tests.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = PORT_RANGE[0] + Math.floor(Math.random() * (PORT_RANGE[1] - PORT_RANGE[0]));
    if (handedOut.has(port)) continue;
    if (await portIsFree(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port');
}

/**
 * A throwaway etcd cluster of 1 or 3 members on loopback, each with free client and peer ports and
 * a data directory under a temp dir. Members can be killed (SIGKILL), paused (SIGSTOP: every
 * request to it hangs), resumed and restarted on their data; `leader()` names the Raft leader.
 */
export class EtcdCluster {
  private constructor(
    readonly members: EtcdMember[],
    private readonly root: string,
    private readonly initialCluster: string,
    private readonly token: string,
  ) {}

  static async start(size: 1 | 3 = 1): Promise<EtcdCluster> {
    const root = await mkdtemp(join(tmpdir(), 'baton-etcd-'));
    const members: EtcdMember[] = [];
    for (let i = 0; i < size; i++) {
      const [client, peer] = [await freePort(), await freePort()];
      members.push({
        name: `m${i}`,
        clientUrl: `http://127.0.0.1:${client}`,
        peerUrl: `http://127.0.0.1:${peer}`,
        dataDir: join(root, `m${i}`),
        process: undefined,
      });
    }
    const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    const cluster = new EtcdCluster(members, root, initialCluster, `baton-${randomBytes(4).toString('hex')}`);
    try {
      for (let i = 0; i < size; i++) await cluster.spawn(i);
      await Promise.all(members.map((_, i) => cluster.waitHealthy(i)));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** Client URLs of all members, for `--etcd-endpoints`. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** SIGKILLs member `i` (no graceful leave) and waits for it to exit. */
  async kill(i: number): Promise<void> {
    const p = this.member(i).process;
    this.member(i).process = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  /** Starts a killed member again on its data directory and waits until it serves. */
  async restart(i: number): Promise<void> {
    await this.kill(i);
    await this.spawn(i);
    await this.waitHealthy(i);
  }

  /** Freezes member `i`: connections stay open, requests hang. */
  pause(i: number): void {
    this.member(i).process?.kill('SIGSTOP');
  }

  resume(i: number): void {
    this.member(i).process?.kill('SIGCONT');
  }

  /** Index of the Raft leader as the live members report it, or -1 if none knows one. */
  async leader(): Promise<number> {
    const ids = new Map<string, number>();
    let leaderId: string | undefined;
    for (const [i, m] of this.members.entries()) {
      if (!m.process) continue;
      const client = new Etcd3({ hosts: m.clientUrl, dialTimeout: 1_000 });
      try {
        const status = await client.maintenance.status({ deadline: Date.now() + 1_000 });
        ids.set(status.header.member_id, i);
        if (status.leader !== '0') leaderId = status.leader;
      } catch {
        // an unreachable member just does not vote here
      } finally {
        client.close();
      }
    }
    return leaderId === undefined ? -1 : (ids.get(leaderId) ?? -1);
  }

  /** Kills every member and deletes the data. */
  async stop(): Promise<void> {
    await Promise.all(
      this.members.map((m, i) => {
        if (!m.process) return undefined;
        this.resume(i);
        return this.kill(i);
      }),
    );
    await rm(this.root, { recursive: true, force: true });
  }

  private member(i: number): EtcdMember {
    const m = this.members[i];
    if (!m) throw new RangeError(`no member ${i}`);
    return m;
  }

  /**
   * Starts member `i`'s process; rejects at once if it cannot be started (no `etcd` on PATH)
   * instead of leaving `waitHealthy` to poll a port nothing will ever open.
   */
  private async spawn(i: number): Promise<void> {
    const m = this.member(i);
    const args = [
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=${m.clientUrl}`,
      `--advertise-client-urls=${m.clientUrl}`,
      `--listen-peer-urls=${m.peerUrl}`,
      `--initial-advertise-peer-urls=${m.peerUrl}`,
      `--initial-cluster=${this.initialCluster}`,
      `--initial-cluster-token=${this.token}`,
      '--initial-cluster-state=new',
      `--heartbeat-interval=${HEARTBEAT_MS}`,
      `--election-timeout=${ELECTION_MS}`,
      '--log-level=error',
      '--logger=zap',
    ];
    const p = spawn(ETCD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
    p.once('error', (err) => (stderr += String(err)));
    (p as ChildProcess & { stderrTail: () => string }).stderrTail = () => stderr;
    m.process = p;
    await new Promise<void>((resolve, reject) => {
      p.once('spawn', resolve);
      p.once('error', (err: NodeJS.ErrnoException) => {
        m.process = undefined;
        reject(err.code === 'ENOENT' ? new Error(`etcd not found: no ${ETCD_BIN} on PATH (apt-get install etcd-server, or set BATON_TEST_ETCD_BIN)`) : err);
      });
    });
  }

  private async waitHealthy(i: number, timeoutMs = 15_000): Promise<void> {
    const m = this.member(i);
    const end = performance.now() + timeoutMs;
    while (performance.now() < end) {
      const p = m.process;
      if (!p || p.exitCode !== null) {
        throw new Error(`etcd ${m.name} exited: ${(p as { stderrTail?: () => string } | undefined)?.stderrTail?.() ?? ''}`);
      }
      try {
        const res = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1_000) });
        if (res.ok && ((await res.json()) as { health?: string }).health === 'true') return;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    throw new Error(`etcd ${m.name} not healthy after ${timeoutMs} ms`);
  }
}
