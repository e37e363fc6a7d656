import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { builderActor } from '../actors/builder.js';
import { electorActor, type ElectorMsg } from '../actors/elector/actor.js';
import { executorActor } from '../actors/executor.js';
import { syncerActor } from '../actors/syncer.js';
import { mempoolWatcherActor } from '../actors/mempoolWatcher.js';
import { type BlockSink, publisherActor } from '../actors/publisher.js';
import { HttpEngineClient } from '../adapters/engine/http.js';
import { attachFeed, feedSink } from '../adapters/feed/index.js';
import type { EngineApi } from '../adapters/engine/interface.js';
import { engineOptions } from '../adapters/engine/options.js';
import { lockDataDir } from '../adapters/dataDir/lock.js';
import { SupervisedEl } from '../adapters/executionClient/supervised.js';
import { defaultBlocksApiOptions, HttpServer, type HealthReport } from '../adapters/http/index.js';
import { registerBlockRoutes } from '../adapters/http/blocksApi.js';
import { registerHealthRoutes } from '../adapters/http/health.js';
import { HttpError, HttpErrorCode } from '../adapters/http/errors.js';
import { JsonRpcError, JsonRpcErrorCode, registerJsonRpc, type JsonRpcMethod } from '../adapters/http/jsonRpc.js';
import { createMempool, engineTxCheck, txStatusJson, type MempoolService } from '../adapters/mempool/index.js';
import { createLeaseBackend, EtcdLease, type LeaseBackend } from '../adapters/lease/index.js';
import { openBlockStore } from '../adapters/postgres/index.js';
import { connectRedis, describeRedis, RedisConnectError } from '../adapters/redis/connection.js';
import { redisStreamSink } from '../adapters/redis/streamSink.js';
import { type Config, defaultAdvertiseUrl } from '../cli/config.js';
import { createRuntimeModules } from '../runtime/index.js';
import type { ChildSpec } from '../runtime/actor.js';
import type { Pool, PoolOptions } from '../runtime/pool.js';
import { Supervisor } from '../runtime/supervisor.js';
import { adminMethods } from './admin.js';
import { StartupError } from './errors.js';
import { healthReport } from './health.js';
import { startMempoolProbe } from './mempoolProbe.js';
import { createNodeMetrics, type NodeMetrics } from './metrics.js';
import { StatusBoard } from './status.js';

/** A running node; `stopped` settles when it stopped, rejecting if the supervisor escalated. */
export interface BatonNode {
  readonly healthPort: number;
  readonly apiPort: number;
  readonly supervisor: Supervisor;
  stop(): Promise<void>;
  readonly stopped: Promise<void>;
}

/** `GET /` on the API address: one static page that polls `/status` and follows the live feed. */
const STATUS_PAGE = readFileSync(new URL('./statusPage.html', import.meta.url), 'utf8');

/** How often the node asks the lease backend who leads and its EL whether it answers (for `/health`). */
const PROBE_INTERVAL_MS = 1_000;

/** Resources opened so far, closed in reverse order on stop or on a failed start. */
type Closer = { name: string; close: () => Promise<unknown> };

/**
 * Starts a node from its configuration: the EL (embedded unless `--eth-client-url`), the block
 * store (embedded PGlite unless `--postgres-url`), Redis when configured, the lease backend, the
 * supervised actors and the HTTP servers. Each external dependency is checked at start and a
 * failure names the flag that points at it (`StartupError`, exit code 2).
 */
/** What only a bench sets: the pool run inline on the supervisor thread is the event-loop baseline (DESIGN §9). */
export interface NodeOverrides {
  pool?: PoolOptions;
}

export async function startNode(config: Config, logger: Logger, overrides: NodeOverrides = {}): Promise<BatonNode> {
  const closers: Closer[] = [];
  const closeAll = async () => {
    for (const { name, close } of closers.reverse()) {
      try {
        await close();
      } catch (err) {
        logger.warn({ err, resource: name }, 'Closing a resource failed');
      }
    }
    closers.length = 0;
  };
  try {
    return await startWith(config, logger, closers, closeAll, overrides);
  } catch (err) {
    await closeAll();
    throw err;
  }
}

async function startWith(config: Config, logger: Logger, closers: Closer[], closeAll: () => Promise<void>, overrides: NodeOverrides): Promise<BatonNode> {
  // First, before anything in the data dir is touched: a second node on it must change nothing.
  const lock = await lockDataDir(config.dataDir, { instanceId: config.instanceId }).catch((err: Error) => {
    throw new StartupError('--data-dir', err.message);
  });
  closers.push({ name: 'data dir lock', close: () => lock.release() });
  const registry = new Registry();
  const runtime = createRuntimeModules({ logger, registry, chaos: config.chaos, pool: overrides.pool });
  closers.push({ name: 'pool', close: () => runtime.pool.destroy() });
  const nodeMetrics = createNodeMetrics(registry);

  // Then the listen addresses: a busy port fails the start at once, and `/health` answers 503
  // "starting" while the dependencies come up.
  const health = new HttpServer({ ...config.healthAddr, name: 'health' }, { logger });
  const api = new HttpServer({ ...config.apiAddr, name: 'api' }, { logger });
  let report: () => HealthReport = () => ({ healthy: false, body: { status: 'starting', role: config.role, instanceId: config.instanceId } });
  registerHealthRoutes(health, { registry, health: () => report() });
  await listen(health, '--health-addr', closers);
  await listen(api, '--api-addr', closers);

  // The services other processes run first, each within seconds, so a wrong address fails the
  // start at once; then what this node runs itself, PGlite and the EL side by side (each takes
  // seconds to open).
  const externalStore = config.postgresUrl ? await openStore(config, logger, closers) : null;
  const redis = config.redisAddr || config.redisSentinels ? await openRedis(config, logger, closers) : null;
  if (!redis) logger.info('Redis not configured (--redis-addr or --redis-sentinels): Redis Stream, shared mempool and watcher are off');
  const backend = await openLeaseBackend(config, logger, redis, closers);
  const [storeOpened, engineOpened] = await Promise.allSettled([externalStore ?? openStore(config, logger, closers), openEngine(config, logger, closers, nodeMetrics)]);
  if (storeOpened.status === 'rejected') throw storeOpened.reason;
  if (engineOpened.status === 'rejected') throw engineOpened.reason;
  const store = storeOpened.value;
  const { engine, endpoints, el } = engineOpened.value;
  const mempool = redis ? await openMempool(config, { redis, logger, registry, pool: runtime.pool, engine }) : null;

  const status = new StatusBoard({ role: config.role, instanceId: config.instanceId, leaseBackend: config.leaseBackend });
  // Before the API listens, so `/health` never shows a node with Redis as `mempool: null`.
  const mempoolProbe = mempool ? await startMempoolProbe(mempool.mempool, status, logger) : null;
  if (mempoolProbe) closers.push({ name: 'mempool probe', close: async () => mempoolProbe.abort() });

  let supervisor: Supervisor | null = null;
  const executionClient = () => ({ ...endpoints, reachable: !status.current.problems.el, head: status.current.elHead, restarts: el?.report().restarts ?? 0, ...(el ? { process: el.report() } : {}) });
  report = () => healthReport(status, supervisor?.restartCounts() ?? {}, executionClient(), runtime.chaos.enabled ? runtime.chaos.injected() : null);
  registerBlockRoutes(api, defaultBlocksApiOptions, { logger, store });
  api.get('/', (reply) => reply.send(200, 'text/html; charset=utf-8', STATUS_PAGE));
  api.get('/status', (reply) => reply.json(200, report().body));
  api.get('/txs/:hash', async (reply, req) => {
    const hash = req.getParameter(0) ?? '';
    if (!/^0x[0-9a-fA-F]{64}$/.test(hash)) throw new HttpError(HttpErrorCode.BAD_REQUEST, `a transaction hash is 0x and 64 hex digits, got ${JSON.stringify(hash)}`);
    if (!mempool) throw new HttpError(HttpErrorCode.NOT_FOUND, MEMPOOL_OFF);
    const status = txStatusJson(await mempool.mempool.status(hash));
    reply.json(status.status === 'unknown' ? 404 : 200, { hash: hash.toLowerCase(), ...status });
  });
  const feed = attachFeed(api.app, { maxSubscribers: config.feedMaxSubscribers }, { store, logger, metrics: registry });
  closers.push({ name: 'feed', close: () => feed.close() });
  // The Stream first, then the feed: both only ever see committed blocks (the Publisher calls them after the commit).
  const sinks: BlockSink[] = [
    ...(redis ? [redisStreamSink({ stream: config.redisStream, maxLen: config.redisStreamMaxlen, prefix: config.redisPrefix }, { redis, logger, store })] : []),
    feedSink(feed),
  ];
  const electorRef = config.role === 'leader' ? { ask: <R>(msg: ElectorMsg, timeoutMs: number) => supervisor!.ask<R>('elector', msg, timeoutMs) } : null;
  registerJsonRpc(
    api,
    { path: '/rpc', adminToken: config.adminToken },
    { ...(mempool?.rpc ?? mempoolOffMethods), ...adminMethods({ identity: config.instanceId, leaseTtlMs: config.leaseTtl, adminToken: config.adminToken ?? '' }, {
        status,
        backend,
        elector: electorRef,
        logger,
        chaos: { injectFault: (actor, fault) => supervisor!.injectFault(actor, fault), killWorker: (task) => runtime.chaos.killWorker(task) },
      }) },
    (err, method) => logger.error({ err, method }, 'JSON-RPC method failed'),
  );
  if (!config.adminToken) logger.info('Admin JSON-RPC methods are off (no --admin-token)');
  /** Published with the lease: members and operators reach the leader's API here. */
  const advertiseUrl = config.advertiseUrl ?? defaultAdvertiseUrl(config.apiAddr, api.port);
  const leaseTtlMs = config.leaseTtl;
  /** Block production: present on leader-capable nodes only. Publisher first, so a restart of it restarts the rest (rest_for_one). */
  const leaderChildren = (): ChildSpec[] => [
    { id: 'publisher', restart: 'permanent', shutdownMs: 5_000, start: () => publisherActor({ engine, store, status, sinks, identity: config.instanceId, metrics: nodeMetrics.publisher }) },
    {
      id: 'builder',
      restart: 'permanent',
      shutdownMs: 5_000,
      start: () =>
        builderActor(
          { blockTimeMs: config.blockTime, feeRecipient: config.feeRecipient, buildWaitMs: Math.min(500, Math.floor(config.blockTime / 2)), leaseGuardMs: Math.min(Math.floor(leaseTtlMs / 3), config.blockTime), mempoolBatchSize: config.mempoolBatchSize },
          { engine, store, status, publisherId: 'publisher', electorId: 'elector', mempool: mempool?.mempool },
        ),
    },
    {
      id: 'elector',
      restart: 'permanent',
      shutdownMs: 5_000,
      start: () =>
        electorActor(
          {
            identity: config.instanceId,
            leaseDurationMs: leaseTtlMs,
            renewIntervalMs: Math.floor(leaseTtlMs / 3),
            retryIntervalMs: Math.max(50, Math.floor(leaseTtlMs / 8)),
            meta: { apiUrl: advertiseUrl },
            campaignGate: () => {
              const reason = campaignBlocker(status);
              status.update({ notCampaigning: reason });
              return reason;
            },
          },
          { backend, status, builderId: 'builder' },
        ),
    },
  ];
  /** On every node with Redis; only the holder of the watcher lock confirms, reading committed blocks from this node's store. */
  const watcherChild = (m: MempoolService): ChildSpec => ({
    id: 'mempoolWatcher',
    restart: 'permanent',
    shutdownMs: 5_000,
    start: () =>
      mempoolWatcherActor(
        { identity: config.instanceId, lockTtlMs: config.mempoolWatcherLockTtl, pollIntervalMs: WATCHER_POLL_MS },
        {
          mempool: m.mempool,
          lock: m.watcherLock,
          metrics: m.metrics,
          checkTx: engineTxCheck(engine),
          blocksAfter: async (after, limit) => {
            const blocks = await store.range(after, limit);
            const hashes = await runtime.pool.run('blockTxHashes', blocks.map((b) => b.payloadData));
            return blocks.map((b, i) => ({ number: b.number, hash: b.hash, txHashes: hashes[i]! }));
          },
          startAfter: async () => {
            const [first] = await store.range(-1n, 1);
            return first ? first.number - 1n : null;
          },
        },
      ),
  });
  const member = config.role === 'member';
  supervisor = new Supervisor(
    {
      strategy: 'rest_for_one',
      intensity: { maxRestarts: 5, periodMs: 30_000 },
      children: [
        ...(member ? [] : leaderChildren()),
        // Last, so a crash here restarts only these two (rest_for_one), never the Elector (which would release the lease).
        // A member stores what it executes in its own database; a standby shares the leader's. Both serve
        // what they execute (committed blocks, from the leader's feed) live on their own feed.
        { id: 'executor', restart: 'permanent', shutdownMs: 5_000, start: () => executorActor({ storeBlocks: member, unknownLeader: 'unknown' }, { engine, store, status, sinks: [feedSink(feed)] }) },
        { id: 'syncer', restart: 'permanent', shutdownMs: 5_000, start: () => syncerActor({ leaderUrl: config.leaderUrl, identity: config.instanceId, standby: !member }, { status, executorId: 'executor' }) },
        ...(mempool ? [watcherChild(mempool)] : []),
      ],
      onEscalate: () => logger.fatal('Supervisor escalated: leadership released, node stopping'),
    },
    runtime,
  );

  await supervisor.start();
  const probe = startProbe(backend, engine, status, nodeMetrics, logger);
  if (backend instanceof EtcdLease) {
    const clusterProbe = probeEtcdCluster(backend, status);
    closers.push({ name: 'etcd cluster probe', close: async () => clusterProbe.abort() });
  }
  closers.push({ name: 'probe', close: async () => probe.abort() });

  let stopping: Promise<void> | null = null;
  // Actors first (the Elector releases the lease), then the feed says 1001 to its clients before
  // the servers go away, then everything else in reverse order of opening.
  const stop = () =>
    (stopping ??= supervisor
      .stop()
      .then(() => feed.close())
      .then(() => {
        api.close();
        health.close();
      })
      .then(closeAll));
  const stopped = supervisor.done.then(
    () => stopping ?? undefined,
    async (err) => {
      await closeAll();
      throw err;
    },
  );
  const apiUrl = defaultAdvertiseUrl(config.apiAddr, api.port);
  const healthUrl = defaultAdvertiseUrl(config.healthAddr, health.port);
  logger.info(
    { instanceId: config.instanceId, role: config.role, advertiseUrl, leaseBackend: config.leaseBackend, dataDir: lock.dir },
    `Baton node ready: status page ${apiUrl}/ · blocks ${apiUrl}/blocks/latest · JSON-RPC ${apiUrl}/rpc · feed ${apiUrl.replace(/^http/, 'ws')}/feed · health ${healthUrl}/health · metrics ${healthUrl}/metrics`,
  );
  return { healthPort: health.port, apiPort: api.port, supervisor, stop, stopped };
}

/** Where the EL answers, shown on `/health` so operators (and tests) can query the same EL the node drives. */
interface EngineEndpoints {
  embedded: boolean;
  engineUrl: string;
  rpcUrl: string | null;
}

async function openEngine(config: Config, logger: Logger, closers: Closer[], metrics: NodeMetrics): Promise<{ engine: EngineApi; endpoints: EngineEndpoints; el: SupervisedEl | null }> {
  let url = config.ethClientUrl;
  let rpcUrl = config.ethRpcUrl;
  let jwtSecret = config.jwtSecret;
  const flag = url ? '--eth-client-url' : '--data-dir';
  let el: SupervisedEl | null = null;
  if (!url) {
    const elLogger = logger.child({ component: 'el' });
    el = await SupervisedEl.start({ dataDir: join(config.dataDir, 'el'), genesisPath: config.genesis }, { logger: elLogger, onRestart: () => metrics.elRestarts.inc() }).catch((err) => {
      const tail = (err as { meta?: { logTail?: string } }).meta?.logTail;
      if (tail) elLogger.error({ logTail: tail }, 'The embedded execution client did not start');
      throw new StartupError(config.genesis ? '--genesis' : '--data-dir', `the embedded execution client did not start: ${(err as Error).message}`);
    });
    const started = el;
    closers.push({ name: 'embedded EL', close: () => started.stop() });
    ({ engineUrl: url, rpcUrl, jwtSecret } = el);
  }
  const endpoints = { embedded: !config.ethClientUrl, engineUrl: url!, rpcUrl: rpcUrl ?? null };
  const engine = new HttpEngineClient(engineOptions({ url: url!, rpcUrl, jwtSecret }));
  try {
    await engine.exchangeCapabilities();
  } catch (err) {
    const code = (err as { code?: string }).code;
    const culprit = code === 'ENGINE_UNAUTHORIZED' ? (config.jwtSecretFile ? '--jwt-secret-file' : '--jwt-secret') : flag;
    throw new StartupError(culprit, `the execution client at ${url} refused engine_exchangeCapabilities: ${(err as Error).message}`);
  }
  return { engine, endpoints, el };
}

/** The block store: PostgreSQL at `--postgres-url`, else embedded PGlite in the data dir. */
async function openStore(config: Config, logger: Logger, closers: Closer[]) {
  const { store, stop } = await openBlockStore({ url: config.postgresUrl, embeddedDataDir: join(config.dataDir, 'pg') }, { logger }).catch((err) => {
    throw new StartupError(config.postgresUrl ? '--postgres-url' : '--data-dir', `cannot open the block store: ${(err as Error).message}`);
  });
  closers.push({ name: 'store', close: stop });
  return store;
}

async function openRedis(config: Config, logger: Logger, closers: Closer[]): Promise<Redis> {
  const target = { addr: config.redisAddr, password: config.redisPassword, tlsCaFile: config.redisTlsCaFile, sentinels: config.redisSentinels, sentinelName: config.redisSentinelName };
  const flag = config.redisSentinels ? '--redis-sentinels' : '--redis-addr';
  const redis = await connectRedis(target).catch((err: Error) => {
    const problem = err instanceof RedisConnectError ? err.problem : 'unreachable';
    const culprit = { auth: '--redis-password', tls: config.redisTlsCaFile ? '--redis-tls-ca-file' : flag, setup: config.redisTlsCaFile ? '--redis-tls-ca-file' : flag, unreachable: flag }[problem];
    throw new StartupError(culprit, err.message);
  });
  redis.on('error', (err) => logger.debug({ err: err.message }, 'Redis connection error'));
  closers.push({ name: 'redis', close: () => redis.quit() });
  logger.info({ redis: describeRedis(target) }, 'Redis connected');
  return redis;
}

/** The flag that points at each lease backend's service, named when that service does not answer. */
const LEASE_FLAG: Record<Config['leaseBackend'], string> = {
  redis: '--redis-addr',
  postgres: '--postgres-url',
  etcd: '--etcd-endpoints',
  kubernetes: '--lease-backend',
  file: '--data-dir',
};
/** A lease backend that cannot say who leads within this long at start is a misconfiguration, not a slow start. */
const LEASE_CHECK_MS = 5_000;

/**
 * The `--lease-backend`, checked once by asking it who leads: an unreachable etcd, a PostgreSQL
 * that refuses the lease's connection or a Kubernetes API without the Lease permissions fails the
 * start within `LEASE_CHECK_MS`, naming the flag, instead of leaving a node that can never lead.
 */
async function openLeaseBackend(config: Config, logger: Logger, redis: Redis | null, closers: Closer[]): Promise<LeaseBackend> {
  const backend = createConfiguredLease(config, logger, redis, closers);
  try {
    await backend.current(AbortSignal.timeout(LEASE_CHECK_MS));
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${LEASE_CHECK_MS} ms` : (err as Error).message;
    throw new StartupError(LEASE_FLAG[config.leaseBackend], `the ${config.leaseBackend} lease backend does not answer: ${why}`);
  }
  return backend;
}

/** The backend itself, on its own connection where it needs one, so renewals never queue behind block traffic. */
function createConfiguredLease(config: Config, logger: Logger, redis: Redis | null, closers: Closer[]): LeaseBackend {
  switch (config.leaseBackend) {
    case 'redis':
      return createLeaseBackend({ backend: 'redis', prefix: config.redisPrefix }, { logger, redis: redis ?? undefined });
    case 'postgres': {
      // The config refuses the postgres lease without a server (embedded PGlite serves one connection, the store's).
      // fetch_types off, as in the block store: a connection dropped while fetching types would crash the node.
      const sql = postgres(config.postgresUrl!, { max: 2, fetch_types: false, connect_timeout: LEASE_CHECK_MS / 1000, onnotice: () => {} });
      closers.push({ name: 'lease postgres', close: () => sql.end({ timeout: 2 }) });
      return createLeaseBackend({ backend: 'postgres' }, { logger, postgres: sql });
    }
    case 'etcd': {
      const lease = new EtcdLease({ endpoints: config.etcdEndpoints }, { logger });
      closers.push({ name: 'lease etcd', close: () => lease.close() });
      return lease;
    }
    case 'kubernetes':
      return createLeaseBackend({ backend: 'kubernetes' }, { logger });
    case 'file':
      return createLeaseBackend({ backend: 'file', path: join(config.dataDir, 'lease.json') }, { logger });
  }
}

/** The shared mempool needs Redis; without it the methods exist and say so. */
const MEMPOOL_OFF = 'the shared mempool is off: start the node with --redis-addr';
const mempoolOffMethods: Record<string, JsonRpcMethod> = {
  eth_sendRawTransaction: { handler: () => { throw new JsonRpcError(JsonRpcErrorCode.REFUSED, MEMPOOL_OFF); } },
  baton_txStatus: { handler: () => { throw new JsonRpcError(JsonRpcErrorCode.REFUSED, MEMPOOL_OFF); } },
};
/** How often the watcher-lock holder looks for newly committed blocks to confirm. */
const WATCHER_POLL_MS = 250;

async function openMempool(config: Config, modules: { redis: Redis; logger: Logger; registry: Registry; pool: Pool; engine: EngineApi }): Promise<MempoolService> {
  let chainId: bigint;
  try {
    chainId = await modules.engine.chainId();
  } catch (err) {
    throw new StartupError(config.ethRpcUrl ? '--eth-rpc-url' : '--eth-client-url', `eth_chainId failed, so the mempool cannot check transactions' chain: ${(err as Error).message}`);
  }
  return createMempool(
    { prefix: config.redisPrefix, maxPending: config.mempoolMaxPending, maxNonConfirmations: config.mempoolMaxNonConfirmations, maxFinalized: config.mempoolMaxFinalized },
    { redis: modules.redis, logger: modules.logger, registry: modules.registry, pool: modules.pool, chainId },
  );
}

async function listen(server: HttpServer, flag: string, closers: Closer[]): Promise<void> {
  try {
    await server.listen();
  } catch (err) {
    throw new StartupError(flag, (err as Error).message);
  }
  closers.push({ name: flag, close: async () => server.close() });
}

/** Keeps `/health`'s view of the lease holder and the EL fresh, independent of any actor. */
function startProbe(backend: LeaseBackend, engine: EngineApi, status: StatusBoard, metrics: NodeMetrics, logger: Logger): AbortController {
  const controller = new AbortController();
  const round = async () => {
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(PROBE_INTERVAL_MS)]);
    const [holder, elHead] = await Promise.allSettled([backend.current(signal), engine.getBlockByNumber('latest', { signal })]);
    if (holder.status === 'fulfilled') {
      status.update({ holder: holder.value?.holder ?? null, holderEpoch: holder.value?.epoch ?? null, leaderApiUrl: holder.value?.meta?.apiUrl ?? null });
      status.problem('lease', null);
    } else status.problem('lease', `lease backend unreachable: ${(holder.reason as Error).message}`);
    if (elHead.status === 'fulfilled') {
      status.problem('el', null);
      status.update({ elHead: elHead.value ? { number: elHead.value.number, hash: elHead.value.hash } : null });
    } else status.problem('el', `execution client unreachable: ${(elHead.reason as Error).message}`);
    const sync = status.current.sync;
    if (sync) {
      metrics.lastSynced.set(Number(sync.lastSynced));
      metrics.syncLag.set(sync.sourceHead != null && sync.sourceHead > sync.lastSynced ? Number(sync.sourceHead - sync.lastSynced) : 0);
    }
    if (!status.current.isLeader && status.current.head) metrics.headNumber.set(Number(status.current.head.number));
    metrics.isLeader.set(status.current.isLeader ? 1 : 0);
    metrics.epoch.set(status.current.isLeader ? Number(status.current.epoch ?? 0n) : 0);
  };
  const timer = setInterval(() => void round().catch((err) => logger.debug({ err }, 'Health probe failed')), PROBE_INTERVAL_MS);
  controller.signal.addEventListener('abort', () => clearInterval(timer));
  void round().catch(() => {});
  return controller;
}

/**
 * Why a leader-capable node should not campaign now, or null. A node whose EL does not answer
 * could not build; taking the lease would only stall the chain until the lease lapsed.
 */
function campaignBlocker(status: StatusBoard): string | null {
  if (status.current.paused) return 'paused by an operator (baton_resume resumes)';
  const el = status.current.problems.el;
  return el ? `not campaigning: ${el}` : null;
}

/** How often `/health`'s view of the etcd cluster is refreshed: each round asks every member. */
const ETCD_CLUSTER_PROBE_MS = 5_000;

/** Keeps the etcd members and their health on `/health` (`election.cluster`). */
function probeEtcdCluster(lease: EtcdLease, status: StatusBoard): AbortController {
  const controller = new AbortController();
  const round = () =>
    lease
      .clusterMembers(AbortSignal.any([controller.signal, AbortSignal.timeout(ETCD_CLUSTER_PROBE_MS)]))
      .then((members) => status.update({ leaseCluster: members }))
      .catch(() => status.update({ leaseCluster: null }));
  const timer = setInterval(() => void round(), ETCD_CLUSTER_PROBE_MS);
  controller.signal.addEventListener('abort', () => clearInterval(timer));
  void round();
  return controller;
}
