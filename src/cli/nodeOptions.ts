import type { StartupDependency } from '../node/errors.js';
import type { NodeOptions } from '../node/options.js';
import type { Config } from './config.js';

/** The node's options from the parsed flags: the flags are the CLI's, the grouping the node's. */
export function nodeOptions(c: Config): NodeOptions {
  const hasRedis = Boolean(c.redisAddr || c.redisSentinels);
  return {
    role: c.role,
    instanceId: c.instanceId,
    dataDir: c.dataDir,
    healthAddr: c.healthAddr,
    apiAddr: c.apiAddr,
    advertiseUrl: c.advertiseUrl,
    executionClient: { url: c.ethClientUrl, rpcUrl: c.ethRpcUrl, jwtSecret: c.jwtSecret, genesisPath: c.genesis, embeddedRpcPort: c.elRpcPort },
    postgresUrl: c.postgresUrl,
    redis: hasRedis
      ? {
          addr: c.redisAddr,
          password: c.redisPassword,
          tlsCaFile: c.redisTlsCaFile,
          sentinels: c.redisSentinels,
          sentinelName: c.redisSentinelName,
          prefix: c.redisPrefix,
          stream: c.redisStream,
          streamMaxLen: c.redisStreamMaxlen,
        }
      : undefined,
    lease: { backend: c.leaseBackend, ttlMs: c.leaseTtl, etcdEndpoints: c.etcdEndpoints, redisPrefix: c.redisPrefix },
    blockTimeMs: c.blockTime,
    health: {
      intervalMs: c.healthInterval,
      elFailures: c.healthElFailures,
      maxBlockGapBlocks: c.healthMaxBlockGap,
      productionFailures: c.healthProductionFailures,
      minTermMs: c.healthMinTerm,
      holdOffMs: c.healthHoldOff,
    },
    feeRecipient: c.feeRecipient,
    mempool: {
      batchSize: c.mempoolBatchSize,
      maxPending: c.mempoolMaxPending,
      maxNonConfirmations: c.mempoolMaxNonConfirmations,
      maxFinalized: c.mempoolMaxFinalized,
      maxPerSender: c.mempoolMaxPerSender,
      maxQueued: c.mempoolMaxQueued,
      lifetimeMs: c.mempoolLifetime,
      watcherLockTtlMs: c.mempoolWatcherLockTtl,
    },
    feedMaxSubscribers: c.feedMaxSubscribers,
    adminToken: c.adminToken,
    leaderUrl: c.leaderUrl,
    chaos: c.chaos,
  };
}

/** The flag to fix for a dependency that failed at start, as this configuration set it. */
export function flagFor(dependency: StartupDependency, c: Config): string {
  switch (dependency) {
    case 'dataDir':
      return '--data-dir';
    case 'healthAddr':
      return '--health-addr';
    case 'apiAddr':
      return '--api-addr';
    case 'postgres':
      return '--postgres-url';
    case 'redis':
      return c.redisSentinels ? '--redis-sentinels' : '--redis-addr';
    case 'redisPassword':
      return '--redis-password';
    case 'redisTls':
      return '--redis-tls-ca-file';
    case 'lease':
      return {
        redis: c.redisSentinels ? '--redis-sentinels' : '--redis-addr',
        postgres: '--postgres-url',
        etcd: '--etcd-endpoints',
        kubernetes: '--lease-backend',
        file: '--data-dir',
      }[c.leaseBackend];
    case 'executionClient':
      return c.ethClientUrl ? '--eth-client-url' : '--data-dir';
    case 'jwtSecret':
      return c.jwtSecretFile ? '--jwt-secret-file' : '--jwt-secret';
    case 'genesis':
      return '--genesis';
    case 'elRpcPort':
      return '--el-rpc-port';
  }
}
