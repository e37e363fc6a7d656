/**
 * The node's supervision tree (DESIGN §1), nested as in OTP so one crash restarts only what
 * depends on it:
 *
 * - `leader` (rest_for_one): the Elector, then `production`. An Elector crash restarts
 *   everything under it, and its old incarnation releases the lease on the way out.
 * - `production` (rest_for_one): the Publisher, then the Builder. A Builder crash restarts the
 *   Builder alone; a Publisher crash restarts both. Either resumes in the same term (the Elector
 *   tells a restarted Builder where leadership stands), the lease untouched.
 * - `follower` (rest_for_one): the Executor, then the Syncer that feeds it.
 * - the MempoolWatcher and the HealthMonitor, on their own.
 */
import { builderActor } from '../actors/builder.js';
import { electorActor } from '../actors/elector.js';
import { executorActor } from '../actors/executor.js';
import { healthMonitorActor } from '../actors/healthMonitor.js';
import { mempoolWatcherActor } from '../actors/mempoolWatcher.js';
import type { BuilderMsg, ElectorMsg, ExecutorMsg, HealthMonitorMsg, MempoolWatcherMsg, PublisherMsg, SyncerMsg } from '../actors/messages.js';
import { type PublisherMetrics, publisherActor } from '../actors/publisher.js';
import { syncerActor } from '../actors/syncer.js';
import type { EngineApi } from '../adapters/engine/interface.js';
import type { LeaseBackend } from '../adapters/lease/interface.js';
import { engineTxJudge, type MempoolService } from '../adapters/mempool/index.js';
import type { IBlockStore } from '../adapters/postgres/interface.js';
import { type ActorRef, actorRef, type ChildSpec, type SupervisorSpec, type TreeSpec } from '../runtime/actor.js';
import type { Pool } from '../runtime/pool.js';
import type { StatusReport } from '../types/report.js';
import type { BlockSink } from '../types/sink.js';
import type { NodeOptions, NodeTimings } from './options.js';

/** Every actor's address; the ids are also the actors' names in logs, metrics and `/health`. */
export const actors = {
  healthMonitor: actorRef<HealthMonitorMsg>('healthMonitor'),
  elector: actorRef<ElectorMsg>('elector'),
  publisher: actorRef<PublisherMsg>('publisher'),
  builder: actorRef<BuilderMsg>('builder'),
  executor: actorRef<ExecutorMsg>('executor'),
  syncer: actorRef<SyncerMsg>('syncer'),
  mempoolWatcher: actorRef<MempoolWatcherMsg>('mempoolWatcher'),
} as const;

/** What the actors are given: the node's adapters, opened by `startNode`. */
export interface TreeModules {
  engine: EngineApi;
  store: IBlockStore;
  backend: LeaseBackend;
  leaseCluster?: (signal: AbortSignal) => Promise<object[]>;
  report: StatusReport;
  /** Redis Stream then feed, for what this node commits as leader. */
  leaderSinks: BlockSink[];
  /** The feed alone, for what this node executes as a follower (already on the Stream). */
  followerSinks: BlockSink[];
  mempool: MempoolService | null;
  pool: Pool;
  publisherMetrics: PublisherMetrics;
  /** Counted per step-down for health (`baton_failovers_total{reason}`). */
  onStepDown?: (reason: string) => void;
}

/** The restart budget of every supervisor: five restarts in 30 s, then it gives up (the root: the node exits). */
const INTENSITY = { maxRestarts: 5, periodMs: 30_000 };

/** The root supervisor: its children (subtrees and lone actors) depend on none of each other. */
export const ROOT_SUPERVISION = { strategy: 'one_for_one', intensity: INTENSITY } as const;
/** How long a stopping actor may take to finish its message before it is abandoned. */
const SHUTDOWN_MS = 5_000;

/** What the Elector is started with beyond the options: the operator's pause outlives an Elector restart. */
export interface TreeState {
  paused: boolean;
  /** Published with the lease: members and operators reach the leader's API here. */
  advertiseUrl: string;
}

function worker<M extends { type: string }>(ref: ActorRef<M>, handlerTimeoutMs: number, start: ChildSpec<M>['start']): ChildSpec<M> {
  return { id: ref.id, restart: 'permanent', shutdownMs: SHUTDOWN_MS, handlerTimeoutMs, start };
}

function supervisor(id: string, strategy: SupervisorSpec['strategy'], children: TreeSpec[]): SupervisorSpec {
  return { kind: 'supervisor', id, strategy, intensity: INTENSITY, children };
}

/** The root's children for a node with these options; nothing starts until the root supervisor does. */
export function supervisionTree(o: NodeOptions, timings: NodeTimings, modules: TreeModules, state: TreeState): TreeSpec[] {
  const { engine, store, report, mempool } = modules;
  const leaderCapable = o.role === 'leader';
  const watcher = mempool ? actors.mempoolWatcher : undefined;

  const healthMonitor = worker(actors.healthMonitor, timings.deadlines.healthMonitor, () =>
    healthMonitorActor(
      {
        identity: o.instanceId,
        leaderCapable,
        intervalMs: timings.probeIntervalMs,
        recordTtlMs: timings.healthRecordTtlMs,
        clusterEveryProbes: 5,
        startPaused: state.paused,
        thresholds: {
          elFailures: o.health.elFailures,
          maxBlockGapMs: timings.maxBlockGapMs,
          productionFailures: o.health.productionFailures,
          minTermMs: o.health.minTermMs,
          holdOffMs: o.health.holdOffMs,
        },
      },
      {
        backend: modules.backend,
        engine,
        store,
        report,
        mempool: mempool?.mempool,
        leaseCluster: modules.leaseCluster,
        elector: leaderCapable ? actors.elector : undefined,
        syncer: actors.syncer,
        onStepDown: modules.onStepDown,
      },
    ),
  );
  const elector = worker(actors.elector, timings.deadlines.elector, () =>
    electorActor(
      {
        identity: o.instanceId,
        leaseDurationMs: o.lease.ttlMs,
        renewIntervalMs: timings.renewIntervalMs,
        retryIntervalMs: timings.retryIntervalMs,
        meta: { apiUrl: state.advertiseUrl },
        startPaused: state.paused,
      },
      { backend: modules.backend, report, listeners: [actors.builder, actors.syncer, actors.healthMonitor], monitor: actors.healthMonitor },
    ),
  );
  const publisher = worker(actors.publisher, timings.deadlines.publisher, () =>
    publisherActor({
      engine,
      store,
      report,
      sinks: modules.leaderSinks,
      identity: o.instanceId,
      metrics: modules.publisherMetrics,
      watcher,
      monitor: actors.healthMonitor,
      elector: actors.elector,
    }),
  );
  const builder = worker(actors.builder, timings.deadlines.builder, () =>
    builderActor(
      {
        blockTimeMs: o.blockTimeMs,
        feeRecipient: o.feeRecipient,
        buildWaitMs: timings.buildWaitMs,
        leaseGuardMs: timings.leaseGuardMs,
        mempoolBatchSize: o.mempool.batchSize,
        replayBudgetMs: timings.deadlines.builder / 2,
        commitTimeoutMs: timings.commitWaitMs,
      },
      { engine, store, report, mempool: mempool?.mempool, publisher: actors.publisher, elector: actors.elector, monitor: actors.healthMonitor },
    ),
  );
  // A member stores what it executes in its own database; a standby shares the leader's. Both serve
  // what they execute (committed blocks, from the leader's feed) live on their own feed.
  const executor = worker(actors.executor, timings.deadlines.executor, () =>
    executorActor({ storeBlocks: !leaderCapable, unknownLeader: 'unknown' }, { engine, store, report, sinks: modules.followerSinks, watcher }),
  );
  const syncer = worker(actors.syncer, timings.deadlines.syncer, () =>
    syncerActor(
      { leaderUrl: o.leaderUrl, identity: o.instanceId, standby: leaderCapable },
      { report, executor: actors.executor, elector: leaderCapable ? actors.elector : undefined },
    ),
  );
  return [
    healthMonitor,
    ...(leaderCapable ? [supervisor('leader', 'rest_for_one', [elector, supervisor('production', 'rest_for_one', [publisher, builder])])] : []),
    supervisor('follower', 'rest_for_one', [executor, syncer]),
    ...(mempool ? [watcherSpec(o, timings, modules, mempool)] : []),
  ];
}

/** On every node with Redis; only the holder of the watcher lock confirms, reading committed blocks from this node's store. */
function watcherSpec(o: NodeOptions, timings: NodeTimings, modules: TreeModules, mempool: MempoolService): ChildSpec<MempoolWatcherMsg> {
  const { store, pool } = modules;
  return worker(actors.mempoolWatcher, timings.deadlines.mempoolWatcher, () =>
    mempoolWatcherActor(
      { identity: o.instanceId, lockTtlMs: o.mempool.watcherLockTtlMs, pollIntervalMs: timings.watcherPollMs },
      {
        mempool: mempool.mempool,
        lock: mempool.watcherLock,
        metrics: mempool.metrics,
        judgeTx: engineTxJudge({ engine: modules.engine, pool, chainId: mempool.chainId, mempool: mempool.mempool }),
        blocksAfter: async (after, limit) => {
          const blocks = await store.range(after, limit);
          const hashes = await pool.run(
            'blockTxHashes',
            blocks.map((b) => b.payloadData),
          );
          return blocks.map((b, i) => ({ number: b.number, hash: b.hash, txHashes: hashes[i]! }));
        },
        startAfter: async () => {
          const [first] = await store.range(-1n, 1);
          return first ? first.number - 1n : null;
        },
      },
    ),
  );
}
