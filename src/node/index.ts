/**
 * A running node, wired from its options: each adapter opens itself (its factory owns its
 * connections), the actors get the adapters, and the supervision tree of `tree.ts` runs them. The
 * order of opening is the order of failing fast: the data dir, the listen addresses, the services
 * other processes run, then what this node runs itself (PGlite, the embedded EL).
 */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { lockDataDir } from '../adapters/dataDir/lock.js';
import { type ExecutionEngine, openExecutionEngine } from '../adapters/engine/index.js';
import { JsonRpcUpstream } from '../adapters/ethRpc/upstream.js';
import { defaultEthWebSocketOptions, EthWebSocketServer } from '../adapters/ethRpc/webSocket.js';
import { attachFeed, type FeedServer, feedSink } from '../adapters/feed/index.js';
import { registerHealthRoutes } from '../adapters/http/health.js';
import { type HealthReport, HttpServer } from '../adapters/http/index.js';
import { type OpenedLease, openLeaseBackend } from '../adapters/lease/index.js';
import { createMempool, type MempoolService } from '../adapters/mempool/index.js';
import { openBlockStore } from '../adapters/postgres/index.js';
import type { IBlockStore } from '../adapters/postgres/interface.js';
import { connectRedis, describeRedis, RedisConnectError } from '../adapters/redis/connection.js';
import { redisStreamSink } from '../adapters/redis/streamSink.js';
import { createRuntimeModules } from '../runtime/index.js';
import type { PoolOptions } from '../runtime/pool.js';
import type { SupervisorModules } from '../runtime/supervisor.js';
import { Supervisor } from '../runtime/supervisor.js';
import { poolTasks } from '../tasks/index.js';
import { senderRecovery } from '../tasks/secp256k1.js';
import { type StartupDependency, StartupError } from './errors.js';
import { registerApiRoutes } from './http.js';
import { createNodeMetrics, type NodeMetrics } from './metrics.js';
import { localUrl, type NodeOptions, nodeTimings } from './options.js';
import { StatusBoard } from './status.js';
import { ROOT_SUPERVISION, supervisionTree, type TreeState } from './tree.js';

export type { NodeOptions } from './options.js';

/** A running node; `stopped` settles when it stopped, rejecting if the supervisor escalated. */
export interface BatonNode {
  readonly healthPort: number;
  readonly apiPort: number;
  readonly supervisor: Supervisor;
  stop(): Promise<void>;
  readonly stopped: Promise<void>;
}

/** What only a bench sets: the pool run inline on the supervisor thread is the event-loop baseline (DESIGN §9). */
export interface NodeOverrides {
  pool?: Omit<PoolOptions, 'tasks'>;
}

/** What was opened so far, closed in reverse order on stop or on a failed start. */
class Resources {
  private readonly closers: { name: string; close: () => Promise<unknown> }[] = [];
  constructor(private readonly logger: Logger) {}

  add(name: string, close: () => Promise<unknown>): void {
    this.closers.push({ name, close });
  }

  async closeAll(): Promise<void> {
    for (const { name, close } of this.closers.reverse()) {
      try {
        await close();
      } catch (err) {
        this.logger.warn({ err, resource: name }, 'Closing a resource failed');
      }
    }
    this.closers.length = 0;
  }
}

/** Awaits a start-up step; its failure becomes a `StartupError` blaming `dependency`. */
async function step<T>(dependency: StartupDependency | ((err: Error) => StartupDependency), work: Promise<T>, what = ''): Promise<T> {
  try {
    return await work;
  } catch (err) {
    const culprit = typeof dependency === 'function' ? dependency(err as Error) : dependency;
    throw new StartupError(culprit, `${what}${(err as Error).message}`);
  }
}

/**
 * Starts a node. Each dependency is checked at start and a failure is a `StartupError` naming
 * what is wrong; everything opened until then is closed again.
 */
export async function startNode(o: NodeOptions, logger: Logger, overrides: NodeOverrides = {}): Promise<BatonNode> {
  const resources = new Resources(logger);
  try {
    return await assemble(o, logger, resources, overrides);
  } catch (err) {
    await resources.closeAll();
    throw err;
  }
}

async function assemble(o: NodeOptions, logger: Logger, resources: Resources, overrides: NodeOverrides): Promise<BatonNode> {
  // First, before anything in the data dir is touched: a second node on it must change nothing.
  const lock = await step('dataDir', lockDataDir(o.dataDir, { instanceId: o.instanceId }));
  resources.add('data dir lock', () => lock.release());
  const registry = new Registry();
  const runtime = createRuntimeModules({ logger, registry, chaos: o.chaos, pool: { ...overrides.pool, tasks: poolTasks } });
  if (!senderRecovery.native) {
    logger.warn(
      { loadError: senderRecovery.loadError },
      'native secp256k1 did not load: sender recovery falls back to JavaScript (~2 ms per transaction instead of ~0.05 ms; mempool ingest drops ~10×)',
    );
  }
  resources.add('pool', () => runtime.pool.destroy());
  const metrics = createNodeMetrics(registry);
  const report = new StatusBoard({ role: o.role, instanceId: o.instanceId, leaseBackend: o.lease.backend }, metrics.gauges);

  // Then the listen addresses: a busy port fails the start at once, and `/health` answers 503
  // "starting" while the dependencies come up.
  let health: () => HealthReport = () => ({ healthy: false, body: { status: 'starting', role: o.role, instanceId: o.instanceId } });
  const healthServer = new HttpServer({ ...o.healthAddr, name: 'health' }, { logger });
  const api = new HttpServer({ ...o.apiAddr, name: 'api' }, { logger });
  registerHealthRoutes(healthServer, { registry, health: () => health() });
  for (const [server, dependency] of [
    [healthServer, 'healthAddr'],
    [api, 'apiAddr'],
  ] as const) {
    await step(dependency, server.listen());
    resources.add(`${dependency} server`, async () => server.close());
  }

  const { store, redis, lease, engine } = await openDependencies(o, logger, resources, metrics);
  const mempool = redis ? await openMempool(o, { redis, logger, registry, runtime, engine }) : null;
  const feed = attachFeed(api.app, { maxSubscribers: o.feedMaxSubscribers }, { store, logger, metrics: registry });
  resources.add('feed', () => feed.close());
  // WebSocket JSON-RPC on the same path as POST /rpc; everything but subscriptions is answered by that same router.
  const ethWebSocket = new EthWebSocketServer(api.app, defaultEthWebSocketOptions, {
    rpc: new JsonRpcUpstream(`${localUrl(o.apiAddr, api.port)}/rpc`),
    el: engine.endpoints.rpcUrl ? new JsonRpcUpstream(engine.endpoints.rpcUrl) : null,
    logger,
  });
  resources.add('eth WebSocket', async () => ethWebSocket.close());
  const advertiseUrl = o.advertiseUrl ?? localUrl(o.apiAddr, api.port);
  const treeState: TreeState = { paused: false, advertiseUrl };
  let supervisor: Supervisor | null = null;
  health = registerApiRoutes(api, o, {
    logger,
    store,
    report,
    mempool,
    lease: lease.backend,
    engine,
    runtime,
    supervisor: () => supervisor,
    treeState,
    onTransactionAccepted: (hash) => ethWebSocket.pendingTransaction(hash),
  });
  const children = supervisionTree(
    o,
    nodeTimings(o),
    {
      engine: engine.api,
      store,
      backend: lease.backend,
      leaseCluster: lease.clusterMembers,
      report,
      leaderSinks: [
        ...(redis && o.redis
          ? [redisStreamSink({ stream: o.redis.stream, maxLen: o.redis.streamMaxLen, prefix: o.redis.prefix }, { redis, logger, store })]
          : []),
        feedSink(feed),
        ethWebSocket.sink(),
      ],
      followerSinks: [feedSink(feed), ethWebSocket.sink()],
      mempool,
      pool: runtime.pool,
      publisherMetrics: metrics.publisher,
      onStepDown: (reason) => metrics.failovers.inc({ reason }),
    },
    treeState,
  );
  supervisor = new Supervisor(
    { ...ROOT_SUPERVISION, children, onEscalate: () => logger.fatal('Supervisor escalated: leadership released, node stopping') },
    runtime,
  );
  await supervisor.start();
  return running(o, logger, { supervisor, feed, servers: [api, healthServer], resources, lockDir: lock.dir, advertiseUrl });
}

/** Once everything runs: the stop sequence, and the line that says where the node answers. */
function running(
  o: NodeOptions,
  logger: Logger,
  parts: { supervisor: Supervisor; feed: FeedServer; servers: [HttpServer, HttpServer]; resources: Resources; lockDir: string; advertiseUrl: string },
): BatonNode {
  const { supervisor, feed, servers, resources } = parts;
  const [api, health] = servers;
  let stopping: Promise<void> | null = null;
  // Actors first (the Elector releases the lease), then the feed says 1001 to its clients before
  // the servers go away, then everything else in reverse order of opening.
  const stop = () =>
    (stopping ??= supervisor
      .stop()
      .then(() => feed.close())
      .then(() => {
        for (const server of servers) server.close();
      })
      .then(() => resources.closeAll()));
  const stopped = supervisor.done.then(
    () => stopping ?? undefined,
    async (err) => {
      await resources.closeAll();
      throw err;
    },
  );
  const apiUrl = localUrl(o.apiAddr, api.port);
  const healthUrl = localUrl(o.healthAddr, health.port);
  logger.info(
    { instanceId: o.instanceId, role: o.role, advertiseUrl: parts.advertiseUrl, leaseBackend: o.lease.backend, dataDir: parts.lockDir },
    `Baton node ready: status page ${apiUrl}/ · blocks ${apiUrl}/blocks/latest · JSON-RPC ${apiUrl}/rpc · feed ${apiUrl.replace(/^http/, 'ws')}/feed · health ${healthUrl}/health · metrics ${healthUrl}/metrics`,
  );
  return { healthPort: health.port, apiPort: api.port, supervisor, stop, stopped };
}

/**
 * The services other processes run first, each within seconds, so a wrong address fails the start
 * at once; then what this node runs itself, PGlite and the embedded EL side by side (each takes
 * seconds to open).
 */
async function openDependencies(o: NodeOptions, logger: Logger, resources: Resources, metrics: NodeMetrics) {
  const openStore = async (): Promise<IBlockStore> => {
    const opened = await step(
      o.postgresUrl ? 'postgres' : 'dataDir',
      openBlockStore({ url: o.postgresUrl, embeddedDataDir: join(o.dataDir, 'pg') }, { logger }),
      'cannot open the block store: ',
    );
    resources.add('store', () => opened.stop());
    return opened.store;
  };
  const openEngine = async (): Promise<ExecutionEngine> => {
    const opened = await step(
      engineCulprit(o),
      openExecutionEngine(
        {
          ...o.executionClient,
          embedded: { dataDir: join(o.dataDir, 'el'), genesisPath: o.executionClient.genesisPath, rpcPort: o.executionClient.embeddedRpcPort },
        },
        { logger, onElRestart: () => metrics.elRestarts.inc() },
      ),
    );
    resources.add('execution client', () => opened.stop());
    return opened;
  };
  const externalStore = o.postgresUrl ? await openStore() : null;
  const redis = o.redis ? await openRedis(o.redis, logger, resources) : null;
  if (!redis) logger.info('Redis not configured (--redis-addr or --redis-sentinels): Redis Stream, shared mempool and watcher are off');
  const lease: OpenedLease = await step(
    'lease',
    openLeaseBackend({ ...o.lease, postgresUrl: o.postgresUrl, filePath: join(o.dataDir, 'lease.json') }, { logger, redis: redis ?? undefined }),
  );
  resources.add('lease', () => lease.close());
  const externalEngine = o.executionClient.url ? await openEngine() : null;
  // PGlite's start blocks this thread for seconds (WASM): nothing timed may run beside it but the EL child's start.
  const [store, engine] = await Promise.allSettled([externalStore ?? openStore(), externalEngine ?? openEngine()]);
  if (store.status === 'rejected') throw store.reason;
  if (engine.status === 'rejected') throw engine.reason;
  return { store: store.value, redis, lease, engine: engine.value };
}

/** A failed EL start blames the JWT secret when the EL refused it, else where the EL comes from. */
function engineCulprit(o: NodeOptions): (err: Error) => StartupDependency {
  return (err) => {
    const code = (err as { code?: string }).code;
    if (code === 'ENGINE_UNAUTHORIZED') return 'jwtSecret';
    if (code === 'EL_RPC_PORT_BUSY') return 'elRpcPort';
    if (!o.executionClient.url && o.executionClient.genesisPath) return 'genesis';
    return o.executionClient.url ? 'executionClient' : 'dataDir';
  };
}

async function openRedis(target: NonNullable<NodeOptions['redis']>, logger: Logger, resources: Resources): Promise<Redis> {
  const redis = await step((err) => {
    const problem = err instanceof RedisConnectError ? err.problem : 'unreachable';
    return problem === 'auth' ? 'redisPassword' : problem === 'tls' || (problem === 'setup' && target.tlsCaFile) ? 'redisTls' : 'redis';
  }, connectRedis(target));
  redis.on('error', (err) => logger.debug({ err: err.message }, 'Redis connection error'));
  resources.add('redis', () => redis.quit());
  logger.info({ redis: describeRedis(target) }, 'Redis connected');
  return redis;
}

async function openMempool(
  o: NodeOptions,
  modules: { redis: Redis; logger: Logger; registry: Registry; runtime: SupervisorModules; engine: ExecutionEngine },
): Promise<MempoolService> {
  const chainId = await step('executionClient', modules.engine.api.chainId(), "eth_chainId failed, so the mempool cannot check transactions' chain: ");
  const { maxPending, maxNonConfirmations, maxFinalized, maxPerSender, maxQueued, lifetimeMs } = o.mempool;
  return createMempool(
    { prefix: o.redis!.prefix, maxPending, maxNonConfirmations, maxFinalized, maxPerSender, maxQueued, lifetimeMs },
    { redis: modules.redis, logger: modules.logger, registry: modules.registry, pool: modules.runtime.pool, chainId },
  );
}
