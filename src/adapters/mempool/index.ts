/**
 * The shared Redis mempool (DESIGN §2.6–2.7): any node accepts transactions, the leader takes
 * batches, the holder of the watcher lock confirms committed blocks.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Pool } from '../../runtime/pool.js';
import { RedisLease } from '../lease/redis.js';
import { batchingDecodes } from './decodeBatch.js';
import { createMempoolMetrics } from './metrics.js';
import { defaultMempoolOptions, type MempoolOptions } from './options.js';
import { RedisMempool } from './redis.js';
import { mempoolRpcMethods } from './rpc.js';
import { watcherLeaseKeys } from './scripts.js';

export { engineTxJudge, permanentRejection, type TxJudge, type TxVerdict } from './elCheck.js';
export * from './errors.js';
export { mempoolOffRpcMethods, registerTxRoutes } from './http.js';
export * from './interface.js';
export { createMempoolMetrics, type MempoolMetrics, type SubmissionResult } from './metrics.js';
export * from './options.js';
export { RedisMempool } from './redis.js';
export {
  baton_txStatus,
  eth_sendRawTransaction,
  type MempoolRpcMethods,
  type MempoolRpcModules,
  mempoolRpcMethods,
  type TxStatusJson,
  txStatusJson,
} from './rpc.js';
export { watcherLeaseKeys, watcherLockToken } from './scripts.js';

export interface MempoolModules {
  /** Shared with the Stream is fine: every operation is one short script. */
  redis: Redis;
  logger: Logger;
  registry: Registry;
  /** Decodes and recovers senders for `eth_sendRawTransaction`. */
  pool: Pick<Pool, 'run'>;
  /** This chain's id (the EL's `eth_chainId`): transactions for any other are refused. */
  chainId: bigint;
}

/**
 * Everything a node needs for the mempool: the store (for the Builder: `takeBatch`, `inflight`),
 * the watcher lock (a Redis lease of its own) and metrics (for `mempoolWatcherActor`), and the JSON-RPC methods (for `POST /rpc`).
 */
export function createMempool(opts: MempoolOptions, modules: MempoolModules) {
  const mempool = new RedisMempool(opts, modules);
  const watcherLock = new RedisLease({ keys: watcherLeaseKeys(opts.prefix ?? defaultMempoolOptions.prefix) }, modules);
  const metrics = createMempoolMetrics(modules.registry, mempool);
  const rpc = mempoolRpcMethods({ pool: batchingDecodes(modules.pool), mempool, chainId: modules.chainId, metrics });
  return { mempool, watcherLock, metrics, rpc, chainId: modules.chainId };
}

export type MempoolService = ReturnType<typeof createMempool>;
