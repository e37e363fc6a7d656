import { Redis } from 'ioredis';
import postgres from 'postgres';
import { failoverReason } from '../../src/actors/healthVerdict.js';
import { blockTxHashes } from '../../src/tasks/blockTxHashes.js';
import { waitFor } from '../helpers/batonProcess.js';
import { type ChainRow, chainBreaks, readChain } from '../helpers/chain.js';
import { ChaosCluster, type LeaseBackendName } from './cluster.js';
import { FAULT_KINDS, type FaultKind, type FaultRecord, FaultSchedule, SHARED_OUTAGE_KINDS } from './faults.js';
import { Random } from './random.js';
import { CommitMonitor, FeedRecorder, HealthSampler, HttpReaders, type NoHealthyWindow, Workload } from './recorders.js';

export interface ChaosRunOptions {
  /** How long faults are injected; start-up and the final settle come on top. */
  durationMs: number;
  seed: number;
  leaseBackend: LeaseBackendName;
  leaseTtlMs?: number;
  dir: string;
  /** Keep the databases and data directories after the run (for a post-mortem). */
  keep?: boolean;
  /** Aborting it (Ctrl-C) ends the faults at once and tears the cluster down without checking. */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface ChaosSummary {
  seed: number;
  leaseBackend: LeaseBackendName;
  faultPhaseMs: number;
  faults: { total: number; byKind: Partial<Record<FaultKind, number>>; actorCrashes: Record<string, number> };
  /**
   * Changes of the committing leader along the chain, and of the epoch (every new term, same
   * leader or not); and the step-downs for health the HealthMonitors reported, by
   * `baton_failovers_total` reason (the rest of the leader changes are lost leases).
   */
  failovers: { leaderChanges: number; newEpochs: number; healthStepDowns: Record<string, number> };
  blocks: number;
  transactions: { accepted: number; finalized: number; dropped: number; unresolved: number; unansweredSends: number };
  feed: { connections: number; blocksRecorded: number };
  httpReads: { served: number; errors: number };
  unexpectedExits: Record<string, number>;
  longestPauseMs: number;
  /** The longest pause not covered by a window in which no leader-capable node was healthy (the issue-16 rule: ≤ `pauseLimitMs`). */
  longestPauseWithHealthyNodeMs: number;
  /** The mean block interval of the calm phase (workload, no faults), and the pause limit it gives. */
  calmBlockIntervalMs: number;
  pauseLimitMs: number;
  /** Spans in which no leader-capable node was healthy, or a service every one needs was down (longer than 1 s). */
  noHealthyWindows: NoHealthyWindow[];
  /** From the moment a fault was lifted to a new commit with the target healthy, per kind. */
  recoveryMs: Partial<Record<FaultKind, { median: number; max: number }>>;
  violations: string[];
  faultLog: FaultRecord[];
}

/** How long the final settle may take: every node healthy, every transaction resolved, every replica at the head. */
const SETTLE_LIMIT_MS = 180_000;
/**
 * Issue 16: production pauses no longer than this while some leader-capable node is healthy — 5
 * block times at the default 1 s. On a machine too loaded to produce a block a second even
 * without faults, the limit is 5 of the mean block intervals measured in the calm phase before
 * the first fault (a baseline of the same run); the summary names both.
 */
const PAUSE_LIMIT_MS = 5_000;
const BLOCK_TIME_MS = 1_000;
/** Workload without faults before the first one: the calm block interval is measured here. */
const CALM_MS = 15_000;

/**
 * One chaos run (issue 9): start the cluster, run the workload, feed subscribers, HTTP readers and
 * the fault schedule for `durationMs`, then lift every fault, freeze production (every leader
 * paused), let replicas converge, and check everything recorded against the committed chain.
 */
export async function runChaos(opts: ChaosRunOptions): Promise<ChaosSummary> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const leaseTtlMs = opts.leaseTtlMs ?? 2_000;
  const t0 = performance.now();
  const stamp = (line: string) => log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);
  stamp(`starting a cluster (3 leaders, 2 members, ${opts.leaseBackend} lease, seed ${opts.seed}) in ${opts.dir}`);
  const cluster = await ChaosCluster.start({ leaders: 3, members: 2, leaseBackend: opts.leaseBackend, leaseTtlMs, dir: opts.dir, log: stamp });
  // A terminal's Ctrl-C reaches the nodes too: from then on nothing restarts them.
  opts.signal?.addEventListener('abort', () => cluster.retire(), { once: true });
  const monitor = new CommitMonitor(cluster.leadersDb.url, t0);
  const recorders = cluster.nodes.map((n) => new FeedRecorder(n));
  const readers = new HttpReaders(cluster, new Random(opts.seed + 2));
  const workload = new Workload(cluster, new Random(opts.seed + 1));
  const sampler = new HealthSampler(cluster, t0);
  const settleViolations: string[] = [];
  try {
    await waitFor(
      'every node healthy after start-up',
      async () => (await Promise.all(cluster.nodes.map((n) => n.health()))).every((h) => h?.status === 200),
      240_000,
      250,
      opts.signal,
    );
    stamp('cluster up; workload, feed subscribers and HTTP readers start');
    monitor.start();
    sampler.start();
    for (const r of recorders) r.start();
    readers.start();
    workload.start();
    const calmFrom = performance.now() - t0;
    await new Promise((r) => setTimeout(r, CALM_MS));
    const calmBlockIntervalMs = monitor.meanInterval(calmFrom, performance.now() - t0);
    stamp(`calm phase: a block every ${Math.round(calmBlockIntervalMs)} ms on average`);
    const faultsFrom = performance.now() - t0;
    const schedule = new FaultSchedule(cluster, new Random(opts.seed), t0, (ms) => monitor.firstCommitAfter(ms), stamp, opts.signal);
    await schedule.run(faultsFrom + opts.durationMs);
    opts.signal?.throwIfAborted();
    const faultsUntil = performance.now() - t0;
    stamp(`${schedule.records.length} faults injected; settling`);

    await workload.stop();
    await sampler.stop();
    await waitFor(
      'every node healthy after the faults',
      async () => (await Promise.all(cluster.nodes.map((n) => n.health()))).every((h) => h?.status === 200),
      SETTLE_LIMIT_MS,
      250,
      opts.signal,
    ).catch(async () => {
      opts.signal?.throwIfAborted();
      for (const node of cluster.nodes) {
        const h = await node.health();
        if (h?.status !== 200) {
          const why = h ? JSON.stringify(h.body.problems ?? h.body.health?.reasons ?? h.body) : 'no answer';
          settleViolations.push(`unhealthy after settle: ${node.name} (${SETTLE_LIMIT_MS / 1000} s after the last fault): ${why}`);
        }
      }
    });
    await workload.resolve(SETTLE_LIMIT_MS);
    // Production goes on (members follow whoever leads): every replica must reach the head as it is now.
    const head = BigInt((await readChain(cluster.leadersDb.url)).at(-1)?.block_number ?? 0);
    stamp(`faults over, transactions resolved; waiting for every replica to reach block ${head}`);
    await waitFor(
      `every node's EL and every member's store at block ${head}`,
      async () => {
        const healths = await Promise.all(cluster.nodes.map((n) => n.health()));
        return healths.every(
          (h, i) => h && BigInt(h.body.elHead?.number ?? -1) >= head && (cluster.nodes[i]!.role === 'leader' || BigInt(h.body.sync?.lastSynced ?? -1) >= head),
        );
      },
      SETTLE_LIMIT_MS,
      250,
      opts.signal,
    ).catch((err: Error) => stamp(err.message));
    await waitFor('every feed subscriber at the head', async () => recorders.every((r) => r.recording.seen.has(head)), 30_000, 250, opts.signal).catch(
      (err: Error) => stamp(err.message),
    );

    for (const r of recorders) r.stop();
    await readers.stop();
    await monitor.stop();
    const summary = await check(cluster, {
      calmBlockIntervalMs,
      sampler,
      settleViolations,
      head,
      recorders,
      readers,
      workload,
      schedule,
      monitor,
      faultsFrom,
      faultsUntil,
      seed: opts.seed,
      leaseBackend: opts.leaseBackend,
    });
    return summary;
  } finally {
    for (const r of recorders) r.stop();
    await sampler.stop();
    await readers.stop();
    await monitor.stop().catch(() => {});
    await cluster.stop(opts.keep ?? false);
  }
}

interface Recorded {
  calmBlockIntervalMs: number;
  sampler: HealthSampler;
  /** Named violations the settle found (a node still unhealthy at its end). */
  settleViolations: string[];
  head: bigint;
  recorders: FeedRecorder[];
  readers: HttpReaders;
  workload: Workload;
  schedule: FaultSchedule;
  monitor: CommitMonitor;
  faultsFrom: number;
  faultsUntil: number;
  seed: number;
  leaseBackend: LeaseBackendName;
}

/** The checker: every view of the chain against the committed one, every transaction, every replica, every restart. */
async function check(cluster: ChaosCluster, r: Recorded): Promise<ChaosSummary> {
  const violations: string[] = [...r.settleViolations];
  /** Every (height, hash) some view served; compared with the committed chain, read last so it covers them all. */
  const observed: { where: string; number: bigint; hash: string }[] = [];
  const see = (where: string, number: bigint, hash: string) => observed.push({ where, number, hash });

  let streamLength = 0;
  const redis = new Redis({ host: '127.0.0.1', port: cluster.redis.port, lazyConnect: true, maxRetriesPerRequest: 3 });
  try {
    const entries = await redis.xrange(`${cluster.prefix}:blocks`, '-', '+');
    for (const [id, fields] of entries) see('the Redis Stream', BigInt(id.split('-')[0]!), fields[fields.indexOf('block_hash') + 1]!);
    streamLength = entries.length;
  } finally {
    redis.disconnect();
  }

  for (const node of cluster.nodes) {
    const health = await node.health();
    const rpcUrl = health?.body.executionClient?.rpcUrl as string | undefined;
    if (!health || !rpcUrl) {
      violations.push(`${node.name} does not answer /health at the end`);
      continue;
    }
    const elHead = BigInt(health.body.elHead?.number ?? 0);
    if (elHead < r.head) violations.push(`${node.name}’s EL did not converge: at ${elHead}, the head was ${r.head}`);
    for (const [number, hash] of await elHashes(rpcUrl, elHead)) {
      if (hash === null) violations.push(`${node.name}’s EL has no block ${number} below its head ${elHead}`);
      else see(`${node.name}’s EL`, number, hash);
    }
    // Every crashed actor restarted: this incarnation's fired faults against its restart counts.
    const injected = (health.body.chaos?.injected ?? {}) as Record<string, number>;
    for (const [key, count] of Object.entries(injected)) {
      const [actor] = key.split(':');
      if (actor === 'pool') continue;
      const restarts = health.body.actors?.[actor!]?.restarts ?? 0;
      if (restarts < count) violations.push(`${node.name}: ${count} faults fired in ${actor}, only ${restarts} restarts`);
    }
  }

  for (const [name, db] of cluster.memberDbs) {
    const rows = await readChain(db.url);
    checkChain(`${name}’s PostgreSQL`, rows, violations);
    for (const row of rows) see(`${name}’s PostgreSQL`, row.block_number, row.block_hash);
    if (BigInt(rows.length) < r.head) violations.push(`${name} did not converge: its store ends at ${rows.at(-1)?.block_number ?? 0}, the head was ${r.head}`);
  }

  for (const rec of r.recorders) {
    violations.push(...rec.recording.disorder);
    for (const [number, hash] of rec.recording.seen) see(`${rec.recording.node}’s feed`, number, hash);
    if (!rec.recording.seen.has(r.head)) violations.push(`${rec.recording.node}’s feed subscriber never got the head ${r.head}`);
  }
  for (const read of r.readers.served) see(`GET /blocks/latest on ${read.node}`, read.number, read.hash);

  const chain = await readChain(cluster.leadersDb.url);
  checkChain('the leaders’ PostgreSQL', chain, violations);
  const canonical = new Map(chain.map((row) => [row.block_number, row.block_hash]));
  for (const { where, number, hash } of observed) {
    const committed = canonical.get(number);
    if (committed === undefined) violations.push(`${where} has block ${number} (${hash}), which was never committed`);
    else if (committed !== hash) violations.push(`${where} has ${hash} at height ${number}; the committed block is ${committed}`);
  }
  if (streamLength < r.head) violations.push(`the Redis Stream holds ${streamLength} blocks, the committed head was ${r.head}`);

  const included = await includedTransactions(cluster.leadersDb.url);
  const txs = [...r.workload.accepted.values()];
  for (const tx of txs) {
    const blocks = included.get(tx.hash) ?? [];
    if (blocks.length > 1) violations.push(`transaction ${tx.hash} is in ${blocks.length} blocks: ${blocks.join(', ')}`);
    if (tx.status === 'finalized') {
      if (blocks.length === 0) violations.push(`transaction ${tx.hash} is finalized at ${tx.blockNumber} but no committed block holds it`);
      else if (blocks[0] !== tx.blockNumber) violations.push(`transaction ${tx.hash} is finalized at ${tx.blockNumber} but block ${blocks[0]} holds it`);
    } else if (tx.status === 'dropped') {
      if (!tx.reason) violations.push(`transaction ${tx.hash} was dropped without a reason`);
      if (blocks.length > 0) violations.push(`transaction ${tx.hash} was dropped (${tx.reason}) but block ${blocks[0]} holds it`);
    } else {
      violations.push(`transaction ${tx.hash} (accepted by ${tx.acceptedBy}) ended ${tx.status}, neither finalized nor dropped`);
    }
  }

  for (const f of r.schedule.records) {
    if (f.violation) violations.push(`fault ${f.kind} on ${f.target}: ${f.violation}`);
    if (f.recoveredAt === null) violations.push(`fault ${f.kind} on ${f.target} (${f.detail}): no recovery within the limit${f.stuck ? ` (${f.stuck})` : ''}`);
  }

  // Issue 16: no production pause over 5 s while a leader-capable node was healthy.
  const windows = noHealthyWindows(r.sampler.windows(), r.schedule.records);
  const pauseLimitMs = Math.round(Math.max(PAUSE_LIMIT_MS, (PAUSE_LIMIT_MS * r.calmBlockIntervalMs) / BLOCK_TIME_MS));
  let longestWithHealthy = 0;
  for (const [from, to] of r.monitor.pauses(r.faultsFrom, r.faultsUntil)) {
    const covered = windows.reduce((sum, w) => sum + Math.max(0, Math.min(to, w.toMs) - Math.max(from, w.fromMs)), 0);
    const uncovered = to - from - covered;
    longestWithHealthy = Math.max(longestWithHealthy, uncovered);
    if (uncovered > pauseLimitMs) {
      const during = r.schedule.records
        .filter((f) => f.startedAt < to && (f.recoveredAt ?? f.endedAt) > from)
        .map((f) => `${f.kind} on ${f.target} (${f.detail})`);
      violations.push(
        `production paused ${Math.round(to - from)} ms (${(from / 1000).toFixed(1)}–${(to / 1000).toFixed(1)} s), ${Math.round(uncovered)} ms of it while a leader-capable node was healthy (limit ${pauseLimitMs} ms); faults then: ${during.join(', ') || 'none'}`,
      );
    }
  }
  const healthStepDowns: Record<string, number> = {};
  for (const reason of r.sampler.stepDownReasons()) {
    const label = failoverReason({ healthy: false, reasons: [reason.replace(/^unhealthy: /, '')] });
    healthStepDowns[label] = (healthStepDowns[label] ?? 0) + 1;
  }

  const byKind: Partial<Record<FaultKind, number>> = {};
  const recoveries: Partial<Record<FaultKind, number[]>> = {};
  for (const f of r.schedule.records) {
    byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
    if (f.recoveredAt !== null) (recoveries[f.kind] ??= []).push(f.recoveredAt - f.endedAt);
  }
  const recoveryMs: ChaosSummary['recoveryMs'] = {};
  for (const kind of FAULT_KINDS) {
    const times = recoveries[kind]?.sort((a, b) => a - b);
    if (times?.length) recoveryMs[kind] = { median: Math.round(times[Math.floor(times.length / 2)]!), max: Math.round(times.at(-1)!) };
  }
  return {
    seed: r.seed,
    leaseBackend: r.leaseBackend,
    faultPhaseMs: Math.round(r.faultsUntil - r.faultsFrom),
    faults: { total: r.schedule.records.length, byKind, actorCrashes: r.schedule.actorCrashes },
    failovers: {
      leaderChanges: chain.filter((row, i) => i > 0 && row.leader !== chain[i - 1]!.leader).length,
      newEpochs: chain.filter((row, i) => i > 0 && row.epoch !== chain[i - 1]!.epoch).length,
      healthStepDowns,
    },
    blocks: chain.length,
    transactions: {
      accepted: txs.length,
      finalized: txs.filter((t) => t.status === 'finalized').length,
      dropped: txs.filter((t) => t.status === 'dropped').length,
      unresolved: txs.filter((t) => t.status !== 'finalized' && t.status !== 'dropped').length,
      unansweredSends: r.workload.unanswered,
    },
    feed: {
      connections: r.recorders.reduce((n, rec) => n + rec.recording.connections, 0),
      blocksRecorded: r.recorders.reduce((n, rec) => n + rec.recording.seen.size, 0),
    },
    httpReads: { served: r.readers.served.length, errors: r.readers.errors },
    unexpectedExits: Object.fromEntries(cluster.nodes.map((n) => [n.name, n.unexpectedExits])),
    longestPauseMs: Math.round(r.monitor.longestPause(r.faultsFrom, r.faultsUntil)),
    longestPauseWithHealthyNodeMs: Math.round(longestWithHealthy),
    calmBlockIntervalMs: Math.round(r.calmBlockIntervalMs),
    pauseLimitMs,
    noHealthyWindows: windows,
    recoveryMs,
    violations,
    faultLog: r.schedule.records,
  };
}

/**
 * The windows the pause rule leaves out: the sampler's (no leader-capable node healthy on
 * `/health`) and every fault that took down a service all of them need, from its start to its
 * end; merged where they overlap, and only those over a second (shorter ones cannot hide a 5 s pause).
 */
function noHealthyWindows(sampled: NoHealthyWindow[], faults: FaultRecord[]): NoHealthyWindow[] {
  const outages = faults.filter((f) => SHARED_OUTAGE_KINDS.has(f.kind)).map((f) => ({ fromMs: f.startedAt, toMs: f.endedAt, why: `${f.kind}: ${f.detail}` }));
  const all = [...sampled, ...outages].sort((a, b) => a.fromMs - b.fromMs);
  const merged: NoHealthyWindow[] = [];
  for (const w of all) {
    const last = merged.at(-1);
    if (last && w.fromMs <= last.toMs) {
      last.toMs = Math.max(last.toMs, w.toMs);
      if (!last.why.includes(w.why)) last.why += `; ${w.why}`;
    } else merged.push({ ...w });
  }
  return merged.filter((w) => w.toMs - w.fromMs > 1_000).map((w) => ({ ...w, fromMs: Math.round(w.fromMs), toMs: Math.round(w.toMs) }));
}

/** One chain, contiguous from 1, parent-linked, one hash per height, epochs never decreasing. */
function checkChain(where: string, rows: ChainRow[], violations: string[]): void {
  if (new Set(rows.map((row) => row.block_hash)).size !== rows.length) violations.push(`${where}: a hash at two heights`);
  violations.push(...chainBreaks(rows).map((b) => `${where}: ${b}`));
}

/** Canonical block hashes 1..`upTo` on an EL, batched; null where it has none. */
async function elHashes(rpcUrl: string, upTo: bigint): Promise<Map<bigint, string | null>> {
  const out = new Map<bigint, string | null>();
  const BATCH = 100n;
  for (let from = 1n; from <= upTo; from += BATCH) {
    const numbers: bigint[] = [];
    for (let n = from; n < from + BATCH && n <= upTo; n++) numbers.push(n);
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(numbers.map((n, i) => ({ jsonrpc: '2.0', id: i, method: 'eth_getBlockByNumber', params: [`0x${n.toString(16)}`, false] }))),
      signal: AbortSignal.timeout(30_000),
    });
    const answers = (await res.json()) as { id: number; result: { hash: string } | null }[];
    for (const a of answers) out.set(numbers[a.id]!, a.result?.hash.toLowerCase() ?? null);
  }
  return out;
}

/** Every transaction hash in the committed chain, with the blocks that hold it. */
async function includedTransactions(dbUrl: string): Promise<Map<string, bigint[]>> {
  const sql = postgres(dbUrl, { max: 1, types: { bigint: postgres.BigInt }, onnotice: () => {} });
  const out = new Map<string, bigint[]>();
  try {
    const rows = await sql<{ block_number: bigint; payload_data: Buffer }[]>`SELECT block_number, payload_data FROM payloads ORDER BY block_number`;
    const hashes = blockTxHashes(rows.map((row) => row.payload_data));
    for (const [i, row] of rows.entries()) {
      for (const hash of hashes[i]!) out.set(hash, [...(out.get(hash) ?? []), row.block_number]);
    }
  } finally {
    await sql.end({ timeout: 2 });
  }
  return out;
}

/** The summary as an operator reads it. */
export function formatSummary(s: ChaosSummary): string {
  const lines = [
    `chaos run — seed ${s.seed}, ${s.leaseBackend} lease, ${Math.round(s.faultPhaseMs / 1000)} s of faults`,
    `  faults:       ${s.faults.total} (${Object.entries(s.faults.byKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')})`,
    `  actor crashes: ${Object.entries(s.faults.actorCrashes)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
    `  failovers:    ${s.failovers.leaderChanges} leader changes, ${s.failovers.newEpochs} new epochs; step-downs for health by reason: ${
      Object.entries(s.failovers.healthStepDowns)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    }`,
    `  blocks:       ${s.blocks}`,
    `  transactions: ${s.transactions.accepted} accepted, ${s.transactions.finalized} finalized, ${s.transactions.dropped} dropped, ${s.transactions.unresolved} unresolved (${s.transactions.unansweredSends} sends unanswered and retried)`,
    `  feed:         ${s.feed.connections} connections, ${s.feed.blocksRecorded} block frames checked; HTTP reads ${s.httpReads.served} (${s.httpReads.errors} failed while nodes were down)`,
    `  node exits by themselves (restarted): ${
      Object.entries(s.unexpectedExits)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    }`,
    `  longest production pause: ${s.longestPauseMs} ms; ${s.longestPauseWithHealthyNodeMs} ms while a leader-capable node was healthy (limit ${s.pauseLimitMs} ms; calm block interval ${s.calmBlockIntervalMs} ms)`,
    `  windows without a healthy leader-capable node: ${s.noHealthyWindows.map((w) => `${(w.fromMs / 1000).toFixed(1)}–${(w.toMs / 1000).toFixed(1)} s (${w.why})`).join(', ') || 'none'}`,
    `  recovery after each fault kind (median / max): ${Object.entries(s.recoveryMs)
      .map(([k, v]) => `${k} ${v.median}/${v.max} ms`)
      .join(', ')}`,
    `  violations:   ${s.violations.length}`,
    ...s.violations.map((v) => `    - ${v}`),
  ];
  return lines.join('\n');
}
