/**
 * What the actor unit tests (`test/unit/actors/`) share: the node's own child specs
 * (`supervisionTree`) wired to in-memory fakes, a real `Supervisor` to run them, in-test actors
 * standing in for neighbours, a report that remembers what it was told, and polling waits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import pino from 'pino';
import type { HealthMonitorMsg } from '../../src/actors/messages.js';
import type { PublisherMetrics } from '../../src/actors/publisher.js';
import { FileLease } from '../../src/adapters/lease/file.js';
import type { LeaseBackend } from '../../src/adapters/lease/interface.js';
import { type Config, parseConfig } from '../../src/cli/config.js';
import { nodeOptions } from '../../src/cli/nodeOptions.js';
import { type NodeOptions, type NodeTimings, nodeTimings } from '../../src/node/options.js';
import { StatusBoard } from '../../src/node/status.js';
import { actors, supervisionTree, type TreeState } from '../../src/node/tree.js';
import { type Actor, type ActorContext, type ActorRef, type ChildSpec, isSupervisorSpec, type Message, type TreeSpec } from '../../src/runtime/actor.js';
import { createRuntimeModules } from '../../src/runtime/index.js';
import { Supervisor, type SupervisorModules } from '../../src/runtime/supervisor.js';
import { poolTasks } from '../../src/tasks/index.js';
import type { EncodedBlock } from '../../src/types/block.js';
import type { NodeStatus, SyncStatus } from '../../src/types/report.js';
import type { BlockSink } from '../../src/types/sink.js';
import { chainBreaks } from './chain.js';
import { MemoryEl } from './memoryEl.js';
import { MemoryStore } from './memoryStore.js';

/** One call an actor made on the report, in order. */
export type ReportEntry =
  | { kind: 'update'; patch: Partial<NodeStatus> }
  | { kind: 'sync'; patch: Partial<SyncStatus> }
  | { kind: 'problem'; component: string; reason: string | null };

/** The node's own report (what `/health` shows, in `current`), which also keeps every write in `history`: what a test asserts was said on the way. */
export class RecordingReport extends StatusBoard {
  readonly history: ReportEntry[] = [];

  override update(patch: Partial<NodeStatus>): void {
    this.history.push({ kind: 'update', patch });
    super.update(patch);
  }

  override updateSync(patch: Partial<Omit<SyncStatus, 'totalSynced'>>): void {
    this.history.push({ kind: 'sync', patch });
    super.updateSync(patch);
  }

  override problem(component: string, reason: string | null): void {
    this.history.push({ kind: 'problem', component, reason });
    super.problem(component, reason);
  }

  /** Every producer state written, in order (`resuming`, `producing`, `stalled: <reason>`, …). */
  producerStates(): string[] {
    return this.history.flatMap((e) =>
      e.kind === 'update' && e.patch.producer ? [`${e.patch.producer.state}${e.patch.producer.reason ? `: ${e.patch.producer.reason}` : ''}`] : [],
    );
  }
}

/** A sink (the feed's place in the pipeline) that records what was published to it; `failNext` makes that many publishes throw. */
export function recordingSink(name = 'feed'): BlockSink & { published: { number: bigint; hash: string }[]; failNext: number } {
  const sink = {
    name,
    published: [] as { number: bigint; hash: string }[],
    failNext: 0,
    async publish(block: EncodedBlock) {
      if (sink.failNext > 0) {
        sink.failNext--;
        throw new Error(`${name}: injected failure`);
      }
      sink.published.push({ number: block.summary.number, hash: block.summary.hash });
    },
  };
  return sink;
}

/**
 * What is wrong with what a sink was given, against the committed chain: every committed block
 * from `from` on, in commit order, each as committed. A block may come twice in a row: the
 * Publisher re-publishes on an idempotent retry of a commit (it cannot know the first attempt
 * published), and the sinks ignore repeats (the feed's `publish`, the Stream's `exists`).
 */
export function publishingBreaks(sink: { published: { number: bigint; hash: string }[] }, store: MemoryStore, from = 1n): string[] {
  const committed = new Map(store.all().map((b) => [b.number, b.hash]));
  const broken: string[] = [];
  let expected = from;
  for (const { number, hash } of sink.published) {
    if (committed.get(number) !== hash) broken.push(`published ${number} ${hash}, which is not the committed block there`);
    if (number === expected) expected++;
    else if (number !== expected - 1n) broken.push(`published ${number} after ${expected - 1n}`);
  }
  if (store.all().length > 0 && expected <= store.all().at(-1)!.number) broken.push(`committed blocks from ${expected} on were not published`);
  return broken;
}

const noPublisherMetrics: PublisherMetrics = { observeCommit() {}, observePublish() {}, observeStage() {}, blockCommitted() {} };

/** Logs are silent unless `BATON_TEST_LOG=debug` (or another level) asks for them. */
const logger = pino({ level: process.env.BATON_TEST_LOG ?? 'silent' });

export interface TestNode {
  o: NodeOptions;
  timings: NodeTimings;
  el: MemoryEl;
  store: MemoryStore;
  report: RecordingReport;
  sink: ReturnType<typeof recordingSink>;
  backend: LeaseBackend;
  /** The lease file of `backend`, for a second contender or a corrupted lease. */
  leasePath: string;
  runtime: SupervisorModules;
  /** A child spec of the node's tree by id (a worker or a subtree), as `supervisionTree` built it. */
  spec(id: string): TreeSpec;
  /**
   * Runs `children` under a root supervisor (one_for_one, the node's intensity); stopped at the end
   * of the test. Without a HealthMonitor among them, a stand-in takes its place (the Builder,
   * Publisher and Elector tell it how things go): what it heard is `monitorHeard`.
   */
  start(children: TreeSpec[]): Promise<Supervisor>;
  monitorHeard: HealthMonitorMsg[];
}

/**
 * A node's actors as `src/node/tree.ts` wires them, for the flags given (`--role`, `--block-time`,
 * …), on an in-memory EL and store, a file lease in a temporary directory, a recording report and
 * sink, and a runtime with chaos enabled and the pool inline (the pool is not what these tests
 * test). Nothing runs until `start`.
 */
export function testNode(
  t: ExecutionContext,
  flags: string[],
  overrides: { el?: MemoryEl; store?: MemoryStore; treeState?: Partial<TreeState> } = {},
): TestNode {
  const dir = mkdtempSync(join(tmpdir(), 'baton-actors-'));
  const o = nodeOptions(parseConfig(['--data-dir', dir, ...flags], {}) as Config);
  const timings = nodeTimings(o);
  const el = overrides.el ?? new MemoryEl();
  const store = overrides.store ?? new MemoryStore();
  const report = new RecordingReport({ role: o.role, instanceId: o.instanceId, leaseBackend: 'file' });
  const sink = recordingSink();
  const leasePath = join(dir, 'lease.json');
  const backend = new FileLease({ path: leasePath }, { logger });
  const runtime = createRuntimeModules({ chaos: true, logger, pool: { tasks: poolTasks, inline: true } });
  const state: TreeState = { paused: false, advertiseUrl: `http://${o.instanceId}:8090`, ...overrides.treeState };
  const tree = supervisionTree(
    o,
    timings,
    { engine: el, store, backend, report, leaderSinks: [sink], followerSinks: [sink], mempool: null, pool: runtime.pool, publisherMetrics: noPublisherMetrics },
    state,
  );
  const supervisors: Supervisor[] = [];
  const monitor = standIn<HealthMonitorMsg>(actors.healthMonitor);
  t.teardown(async () => {
    for (const sup of supervisors) await sup.stop();
    await runtime.pool.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    o,
    timings,
    el,
    store,
    report,
    sink,
    backend,
    leasePath,
    runtime,
    spec(id) {
      const found = findSpec(tree, id);
      if (!found) throw new Error(`the ${o.role} tree has no child ${id}`);
      return found;
    },
    monitorHeard: monitor.received,
    async start(children) {
      const all = findSpec(children, actors.healthMonitor.id) ? children : [monitor.spec, ...children];
      const sup = new Supervisor({ strategy: 'one_for_one', intensity: { maxRestarts: 5, periodMs: 30_000 }, children: all }, runtime);
      supervisors.push(sup);
      await sup.start();
      return sup;
    },
  };
}

function findSpec(children: TreeSpec[], id: string): TreeSpec | undefined {
  for (const spec of children) {
    if (spec.id === id) return spec;
    const inner = isSupervisorSpec(spec) ? findSpec(spec.children, id) : undefined;
    if (inner) return inner;
  }
  return undefined;
}

/** `spec` with the handler deadlines of the named workers in it replaced: a hang is then found in test time. */
export function withDeadlines(spec: TreeSpec, deadlines: Record<string, number>): TreeSpec {
  if (isSupervisorSpec(spec)) return { ...spec, children: spec.children.map((c) => withDeadlines(c, deadlines)) };
  return spec.id in deadlines ? { ...spec, handlerTimeoutMs: deadlines[spec.id] } : spec;
}

/** An in-test actor at `ref`'s address: records every message, then lets `behaviour` act on it (answer, forward). */
export function standIn<M extends Message>(
  ref: ActorRef<M>,
  behaviour: { init?: (ctx: ActorContext<M>) => void; handle?: (msg: M, ctx: ActorContext<M>) => void | Promise<void> } = {},
): { spec: ChildSpec<M, null>; received: M[]; incarnations: () => number } {
  const received: M[] = [];
  let incarnations = 0;
  const actor = (): Actor<M, null> => ({
    init(ctx) {
      incarnations++;
      behaviour.init?.(ctx);
      return null;
    },
    async handle(msg, state, ctx) {
      received.push(msg);
      await behaviour.handle?.(msg, ctx);
      return state;
    },
  });
  return { spec: { id: ref.id, start: actor, restart: 'permanent', shutdownMs: 1_000, handlerTimeoutMs: 1_000 }, received, incarnations: () => incarnations };
}

/** Polls `check` until it holds; fails naming `what` after `timeoutMs`. Returns the time it took. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - started;
}

/**
 * What breaks the chain in `store` (`chain.ts`'s rules: contiguous from 1, parent-linked, epochs
 * never decreasing), and a hash at two heights.
 */
export function storeChainBreaks(store: MemoryStore): string[] {
  const blocks = store.all();
  const rows = blocks.map((b) => ({
    block_number: b.number,
    block_hash: b.hash,
    parent_hash: b.parentHash,
    epoch: b.epoch,
    leader: b.leader,
    created_at: b.createdAt,
  }));
  return [...chainBreaks(rows), ...(new Set(blocks.map((b) => b.hash)).size === blocks.length ? [] : ['a hash at two heights'])];
}
