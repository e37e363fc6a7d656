import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { builderActor } from '../actors/builder.js';
import { electorActor } from '../actors/elector/actor.js';
import { type BlockSink, publisherActor } from '../actors/publisher.js';
import { HttpEngineClient } from '../adapters/engine/http.js';
import { attachFeed, feedSink } from '../adapters/feed/index.js';
import type { EngineApi } from '../adapters/engine/interface.js';
import { engineOptions } from '../adapters/engine/options.js';
import { startEmbeddedEl } from '../adapters/executionClient/embedded.js';
import { createApiServer, createHealthServer, type HttpServer } from '../adapters/http/index.js';
import { createLeaseBackend, EtcdLease, type LeaseBackend } from '../adapters/lease/index.js';
import { openBlockStore } from '../adapters/postgres/index.js';
import { redisStreamSink } from '../adapters/redis/streamSink.js';
import { type Config, defaultAdvertiseUrl } from '../cli/config.js';
import { createRuntimeModules } from '../runtime/index.js';
import { Supervisor } from '../runtime/supervisor.js';
import { StartupError } from './errors.js';
import { healthReport } from './health.js';
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
export async function startNode(config: Config, logger: Logger): Promise<BatonNode> {
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
    return await startWith(config, logger, closers, closeAll);
  } catch (err) {
    await closeAll();
    throw err;
  }
}

async function startWith(config: Config, logger: Logger, closers: Closer[], closeAll: () => Promise<void>): Promise<BatonNode> {
  const registry = new Registry();
  const runtime = createRuntimeModules({ logger, registry, chaos: config.chaos });
  closers.push({ name: 'pool', close: () => runtime.pool.destroy() });
  const nodeMetrics = createNodeMetrics(registry);

  const { engine, endpoints } = await openEngine(config, logger, closers);
  const { store, stop: stopStore } = await openBlockStore({ url: config.postgresUrl, embeddedDataDir: join(config.dataDir, 'pg') }, { logger }).catch((err) => {
    throw new StartupError(config.postgresUrl ? '--postgres-url' : '--data-dir', `cannot open the block store: ${(err as Error).message}`);
  });
  closers.push({ name: 'store', close: stopStore });

  const redis = config.redisAddr ? await openRedis(config, logger, closers) : null;
  if (!redis) logger.info('Redis not configured (--redis-addr): Redis Stream, shared mempool and watcher are off');

  const backend = await openLeaseBackend(config, logger, redis, closers);

  const status = new StatusBoard({ role: config.role, instanceId: config.instanceId, leaseBackend: config.leaseBackend });

  let supervisor: Supervisor | null = null;
  const report = () => healthReport(status, supervisor?.restartCounts() ?? {}, endpoints);
  const health = createHealthServer(config.healthAddr, { logger, registry, health: report });
  const api = createApiServer(config.apiAddr, { logger, store });
  api.get('/', (reply) => reply.send(200, 'text/html; charset=utf-8', STATUS_PAGE));
  api.get('/status', (reply) => reply.json(200, report().body));
  const feed = attachFeed(api.app, { maxSubscribers: config.feedMaxSubscribers }, { store, logger, metrics: registry });
  closers.push({ name: 'feed', close: async () => feed.close() });
  // The Stream first, then the feed: both only ever see committed blocks (the Publisher calls them after the commit).
  const sinks: BlockSink[] = [
    ...(redis ? [redisStreamSink({ stream: config.redisStream, maxLen: config.redisStreamMaxlen, prefix: config.redisPrefix }, { redis, logger })] : []),
    feedSink(feed),
  ];
  await listen(health, '--health-addr', closers);
  await listen(api, '--api-addr', closers);
  /** Published with the lease: members and operators reach the leader's API here. */
  const advertiseUrl = config.advertiseUrl ?? defaultAdvertiseUrl(config.apiAddr, api.port);

  const leaseTtlMs = config.leaseTtl;
  supervisor = new Supervisor(
    {
      strategy: 'rest_for_one',
      intensity: { maxRestarts: 5, periodMs: 30_000 },
      children: [
        { id: 'publisher', restart: 'permanent', shutdownMs: 5_000, start: () => publisherActor({ engine, store, status, sinks, identity: config.instanceId, metrics: nodeMetrics.publisher }) },
        {
          id: 'builder',
          restart: 'permanent',
          shutdownMs: 5_000,
          start: () =>
            builderActor(
              { blockTimeMs: config.blockTime, feeRecipient: config.feeRecipient, buildWaitMs: Math.min(500, Math.floor(config.blockTime / 2)), leaseGuardMs: Math.min(Math.floor(leaseTtlMs / 3), config.blockTime) },
              { engine, store, status, publisherId: 'publisher', electorId: 'elector' },
            ),
        },
        ...(config.role === 'leader'
          ? [
              {
                id: 'elector',
                restart: 'permanent' as const,
                shutdownMs: 5_000,
                start: () =>
                  electorActor(
                    { identity: config.instanceId, leaseDurationMs: leaseTtlMs, renewIntervalMs: Math.floor(leaseTtlMs / 3), retryIntervalMs: Math.max(50, Math.floor(leaseTtlMs / 8)), meta: { apiUrl: advertiseUrl } },
                    { backend, status, builderId: 'builder' },
                  ),
              },
            ]
          : []),
      ],
      onEscalate: () => logger.fatal('Supervisor escalated: leadership released, node stopping'),
    },
    runtime,
  );

  await supervisor.start();
  const probe = startProbe(backend, engine, status, nodeMetrics, logger);
  closers.push({ name: 'probe', close: async () => probe.abort() });

  let stopping: Promise<void> | null = null;
  const stop = () => (stopping ??= supervisor.stop().then(closeAll));
  const stopped = supervisor.done.then(
    () => stopping ?? undefined,
    async (err) => {
      await closeAll();
      throw err;
    },
  );
  logger.info({ instanceId: config.instanceId, role: config.role, health: health.port, api: api.port, advertiseUrl, leaseBackend: config.leaseBackend }, 'Baton node started');
  return { healthPort: health.port, apiPort: api.port, supervisor, stop, stopped };
}

/** Where the EL answers, shown on `/health` so operators (and tests) can query the same EL the node drives. */
interface EngineEndpoints {
  embedded: boolean;
  engineUrl: string;
  rpcUrl: string | null;
}

async function openEngine(config: Config, logger: Logger, closers: Closer[]): Promise<{ engine: EngineApi; endpoints: EngineEndpoints }> {
  let url = config.ethClientUrl;
  let rpcUrl = config.ethRpcUrl;
  let jwtSecret = config.jwtSecret;
  const flag = url ? '--eth-client-url' : '--data-dir';
  if (!url) {
    const el = await startEmbeddedEl({ dataDir: join(config.dataDir, 'el'), genesisPath: config.genesis }, { logger: logger.child({ component: 'el' }) }).catch((err) => {
      throw new StartupError(config.genesis ? '--genesis' : '--data-dir', `the embedded execution client did not start: ${(err as Error).message.split('\n')[0]}`);
    });
    closers.push({ name: 'embedded EL', close: () => el.stop() });
    logger.info({ engineUrl: el.engineUrl, rpcUrl: el.rpcUrl, ports: el.ports, pid: el.pid, log: el.logPath }, 'Embedded execution client started');
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
  return { engine, endpoints };
}

async function openRedis(config: Config, logger: Logger, closers: Closer[]): Promise<Redis> {
  const redis = new Redis(config.redisAddr!, { password: config.redisPassword, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3_000, retryStrategy: (n) => Math.min(n * 200, 2_000) });
  redis.on('error', (err) => logger.debug({ err: err.message }, 'Redis connection error'));
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new StartupError('--redis-addr', `cannot reach Redis at ${config.redisAddr}: ${(err as Error).message}`);
  }
  closers.push({ name: 'redis', close: () => redis.quit() });
  return redis;
}

/** The `--lease-backend`, on its own connection where it needs one, so renewals never queue behind block traffic. */
async function openLeaseBackend(config: Config, logger: Logger, redis: Redis | null, closers: Closer[]): Promise<LeaseBackend> {
  switch (config.leaseBackend) {
    case 'redis':
      return createLeaseBackend({ backend: 'redis', prefix: config.redisPrefix }, { logger, redis: redis ?? undefined });
    case 'postgres': {
      // Embedded PGlite serves a single connection, which the block store holds.
      if (!config.postgresUrl) throw new StartupError('--lease-backend', 'the postgres lease needs a PostgreSQL server (--postgres-url)');
      const sql = postgres(config.postgresUrl, { max: 2, onnotice: () => {} });
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
      status.update({ holder: holder.value?.holder ?? null, leaderApiUrl: holder.value?.meta?.apiUrl ?? null });
      status.problem('lease', null);
    } else status.problem('lease', `lease backend unreachable: ${(holder.reason as Error).message}`);
    if (elHead.status === 'fulfilled') status.problem('el', null);
    else status.problem('el', `execution client unreachable: ${(elHead.reason as Error).message}`);
    metrics.isLeader.set(status.current.isLeader ? 1 : 0);
    metrics.epoch.set(status.current.isLeader ? Number(status.current.epoch ?? 0n) : 0);
  };
  const timer = setInterval(() => void round().catch((err) => logger.debug({ err }, 'Health probe failed')), PROBE_INTERVAL_MS);
  controller.signal.addEventListener('abort', () => clearInterval(timer));
  void round().catch(() => {});
  return controller;
}
