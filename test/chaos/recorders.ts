import postgres from 'postgres';
import WebSocket from 'ws';
import { DEV_CHAIN_ID } from '../../src/adapters/executionClient/genesis.js';
import { signTransfer, type TestAccount, testAccounts } from '../../src/adapters/executionClient/testAccounts.js';
import { jsonRpc } from '../helpers/services.js';
import type { ChaosCluster, ChaosNode } from './cluster.js';
import type { Random } from './random.js';

/** What one feed subscriber saw on one node, checked as it arrives: every frame must be cursor + 1. */
export interface FeedRecording {
  node: string;
  /** Block hashes by height, as the feed delivered them. */
  seen: Map<bigint, string>;
  connections: number;
  /** Frames out of order (a duplicate or a gap), named. */
  disorder: string[];
}

/**
 * A raw WebSocket subscriber (not Baton's FeedClient, which drops duplicates and heals gaps itself,
 * so it would hide exactly what the checker looks for). It subscribes from its cursor + 1 after
 * every disconnect and records every block frame the server sent.
 */
export class FeedRecorder {
  readonly recording: FeedRecording;
  private socket: WebSocket | null = null;
  private stopped = false;
  private cursor = 0n;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly node: ChaosNode) {
    this.recording = { node: node.name, seen: new Map(), connections: 0, disorder: [] };
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.terminate();
  }

  private connect(): void {
    if (this.stopped) return;
    const socket = new WebSocket(`${this.node.apiUrl.replace('http', 'ws')}/feed`);
    this.socket = socket;
    const from = this.cursor + 1n;
    socket.on('open', () => {
      this.recording.connections++;
      socket.send(JSON.stringify({ op: 'subscribe', from: Number(from), encoding: 'json', payload: false }));
    });
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; number?: number | string; hash?: string };
      if (frame.type !== 'block') return;
      const number = BigInt(frame.number!);
      if (number !== this.cursor + 1n) {
        this.recording.disorder.push(
          `${this.node.name}: block ${number} arrived after ${this.cursor} (connection ${this.recording.connections}, subscribed from ${from})`,
        );
      }
      if (number > this.cursor) this.cursor = number;
      const earlier = this.recording.seen.get(number);
      if (earlier && earlier !== frame.hash) this.recording.disorder.push(`${this.node.name}: block ${number} delivered as ${earlier} and as ${frame.hash}`);
      this.recording.seen.set(number, frame.hash!);
    });
    const retry = () => {
      if (this.socket !== socket || this.stopped) return;
      this.socket = null;
      this.timer = setTimeout(() => this.connect(), 500);
    };
    socket.on('close', retry);
    socket.on('error', () => socket.terminate());
  }
}

/** `GET /blocks/latest` on random nodes: what HTTP readers were served, by height. */
export class HttpReaders {
  readonly served: { node: string; number: bigint; hash: string }[] = [];
  errors = 0;
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly random: Random,
  ) {}

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        const node = this.random.pick(this.cluster.nodes);
        try {
          const res = await fetch(`${node.apiUrl}/blocks/latest`, { signal: AbortSignal.timeout(2_000) });
          if (res.ok) {
            const block = (await res.json()) as { block_number: number | string; block_hash: string };
            this.served.push({ node: node.name, number: BigInt(block.block_number), hash: block.block_hash });
          } else if (res.status !== 404) {
            this.errors++;
          }
        } catch {
          this.errors++;
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

/** The committed head of the leaders' database over time, polled directly (never through a node's proxy). */
export class CommitMonitor {
  /** `[ms since the run started, head]` at every change. */
  readonly changes: [number, bigint][] = [];
  private stopped = false;
  private loop: Promise<void> | null = null;
  private readonly sql;

  constructor(
    dbUrl: string,
    private readonly t0: number,
  ) {
    this.sql = postgres(dbUrl, { max: 1, types: { bigint: postgres.BigInt }, onnotice: () => {} });
  }

  get head(): bigint {
    return this.changes.at(-1)?.[1] ?? 0n;
  }

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        const [row] = await this.sql<{ head: bigint | null }[]>`SELECT max(block_number) AS head FROM payloads`.catch(() => [{ head: null }]);
        if (row?.head != null && row.head > this.head) this.changes.push([performance.now() - this.t0, row.head]);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  }

  /** The first time (ms since start) a block above `head` was seen after `afterMs`, or null. */
  firstCommitAfter(afterMs: number): number | null {
    return this.changes.find(([at]) => at > afterMs)?.[0] ?? null;
  }

  /** Every span without a new block between `fromMs` and `toMs`, as `[from, to]`. */
  pauses(fromMs: number, toMs: number): [number, number][] {
    const out: [number, number][] = [];
    let last = fromMs;
    for (const [at] of this.changes) {
      if (at < fromMs) continue;
      if (at > toMs) break;
      out.push([last, at]);
      last = at;
    }
    out.push([last, toMs]);
    return out;
  }

  /** The mean time per new block between `fromMs` and `toMs` (the whole span when there was none: at least that). */
  meanInterval(fromMs: number, toMs: number): number {
    const blocks = this.changes.filter(([t]) => t >= fromMs && t <= toMs).length;
    return (toMs - fromMs) / Math.max(1, blocks);
  }

  /** The longest time without a new block between `fromMs` and `toMs`. */
  longestPause(fromMs: number, toMs: number): number {
    return Math.max(0, ...this.pauses(fromMs, toMs).map(([a, b]) => b - a));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.sql.end({ timeout: 2 });
  }
}

/** One transaction the workload sent, and what became of it. */
export interface SentTx {
  hash: string;
  from: string;
  nonce: bigint;
  /** The node whose `/rpc` accepted it (or said "already known"). */
  acceptedBy: string;
  status: 'pending' | 'inflight' | 'finalized' | 'dropped' | 'unknown';
  blockNumber?: bigint;
  reason?: string;
}

/**
 * The steady workload: each of the ten prefunded accounts keeps one signed transfer in flight,
 * sent to a random node's `/rpc`, and sends the next once the shared mempool says the previous one
 * is finalized (or dropped: then the nonce is read back from an EL). One transaction in flight per
 * sender keeps the nonces gap-free whatever the faults do.
 */
export class Workload {
  readonly accepted = new Map<string, SentTx>();
  /** Sends no node answered (down, partitioned): retried with the same bytes, never counted as accepted. */
  unanswered = 0;
  private stopping = false;
  private loops: Promise<void>[] = [];
  private readonly accounts: TestAccount[] = testAccounts();

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly random: Random,
  ) {}

  start(): void {
    this.loops = this.accounts.map((account, i) => this.senderLoop(account, this.accounts[(i + 1) % this.accounts.length]!.address));
  }

  /** Stop sending new transactions; what is in flight keeps being followed by `resolve`. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  /** Poll until every accepted transaction is finalized or dropped, or `timeoutMs` passed. */
  async resolve(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const open = [...this.accepted.values()].filter((tx) => tx.status !== 'finalized' && tx.status !== 'dropped');
      if (open.length === 0) return;
      for (const tx of open) await this.refresh(tx);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }

  private async senderLoop(account: TestAccount, to: string): Promise<void> {
    let nonce = 0n;
    while (!this.stopping) {
      const signed = signTransfer({ from: account, to, valueWei: 1n, nonce, chainId: BigInt(DEV_CHAIN_ID) });
      const tx = await this.send(signed.raw, signed.hash, account.address, nonce);
      if (!tx) continue; // stopping
      while (tx.status !== 'finalized' && tx.status !== 'dropped') {
        await new Promise((r) => setTimeout(r, 1_000));
        await this.refresh(tx);
        if (this.stopping) return;
      }
      nonce = tx.status === 'finalized' ? nonce + 1n : await this.nonceOf(account.address, nonce);
      await new Promise((r) => setTimeout(r, this.random.int(0, 1_000)));
    }
  }

  /** Send until some node accepts (or reports the transaction already known). */
  private async send(raw: string, hash: string, from: string, nonce: bigint): Promise<SentTx | null> {
    while (!this.stopping) {
      const node = this.random.pick(this.cluster.nodes);
      try {
        const answer = await node.rpc('eth_sendRawTransaction', [raw]);
        if (answer.result === hash || answer.error?.message === 'already known') {
          const tx: SentTx = { hash, from, nonce, acceptedBy: node.name, status: 'pending' };
          this.accepted.set(hash, tx);
          return tx;
        }
      } catch {
        // down or partitioned: try another node
      }
      this.unanswered++;
      await new Promise((r) => setTimeout(r, 500));
    }
    return null;
  }

  private async refresh(tx: SentTx): Promise<void> {
    const node = this.random.pick(this.cluster.nodes);
    try {
      const { result } = await node.rpc('baton_txStatus', [tx.hash]);
      if (!result) return;
      tx.status = result.status;
      if (result.status === 'finalized') tx.blockNumber = BigInt(result.blockNumber);
      if (result.status === 'dropped') tx.reason = result.reason;
    } catch {
      // that node is down: ask another next time
    }
  }

  /** After a drop: the account's next nonce as some running EL has it. */
  private async nonceOf(address: string, fallback: bigint): Promise<bigint> {
    for (const node of this.random.shuffle([...this.cluster.nodes])) {
      const rpcUrl = (await node.health())?.body.executionClient?.rpcUrl;
      if (!rpcUrl) continue;
      try {
        return BigInt(await jsonRpc<string>(rpcUrl, 'eth_getTransactionCount', [address, 'latest'], 2_000));
      } catch {
        // next node
      }
    }
    return fallback;
  }
}

/** A span of the run (ms since start) in which no leader-capable node was healthy, and why it counts as one. */
export interface NoHealthyWindow {
  fromMs: number;
  toMs: number;
  why: string;
}

/**
 * Samples every leader-capable node's `/health` about every 250 ms: is any of them a healthy
 * leader (its HealthMonitor's verdict) or a ready standby? The spans in which none was are the
 * windows where a production pause is no failover's fault, so the pause rule leaves them out.
 */
export class HealthSampler {
  /** `[ms since start, some leader-capable node healthy]`, one per sweep. */
  private readonly samples: [number, boolean][] = [];
  /** Every step-down for health a node's `/health` listed, keyed by node, time and reason (each seen once). */
  private readonly stepDowns = new Map<string, string>();
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly t0: number,
  ) {}

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        const at = performance.now() - this.t0;
        const healths = await Promise.all(this.cluster.leaders.map((n) => n.health()));
        const healthy = healths.some((h) => {
          const monitor = h?.body.health;
          if (!h || !monitor) return false;
          return h.body.isLeader ? monitor.verdict === 'healthy' && h.body.producer?.state === 'producing' : monitor.ready === true;
        });
        this.samples.push([at, healthy]);
        for (const [i, h] of healths.entries()) {
          for (const d of (h?.body.health?.stepDowns ?? []) as { at: string; reason: string }[]) {
            this.stepDowns.set(`${this.cluster.leaders[i]!.name}|${d.at}`, d.reason);
          }
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /** The reason of every step-down for health seen. */
  stepDownReasons(): string[] {
    return [...this.stepDowns.values()];
  }

  /** Every maximal run of sweeps that found no healthy node: from its first such sweep to the next sweep that found one. */
  windows(): NoHealthyWindow[] {
    const out: NoHealthyWindow[] = [];
    let from: number | null = null;
    for (const [at, healthy] of this.samples) {
      if (!healthy && from === null) from = at;
      if (healthy && from !== null) {
        out.push({ fromMs: from, toMs: at, why: 'no leader-capable node healthy on /health' });
        from = null;
      }
    }
    if (from !== null) out.push({ fromMs: from, toMs: this.samples.at(-1)![0], why: 'no leader-capable node healthy on /health' });
    return out;
  }
}
