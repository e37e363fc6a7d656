import type { KubeConfig } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import postgres, { type Sql } from 'postgres';
import { LeaseError, LeaseErrorCode } from './errors.js';
import { EtcdLease } from './etcd.js';
import { FileLease } from './file.js';
import type { LeaseBackend } from './interface.js';
import { KubernetesLease, type KubernetesLeaseModules } from './kubernetes.js';
import type { EtcdLeaseOptions, FileLeaseOptions, KubernetesLeaseOptions, LeaseBackendName, PostgresLeaseOptions, RedisLeaseOptions } from './options.js';
import { PostgresLease } from './postgres.js';
import { RedisLease } from './redis.js';

export * from './errors.js';
export { EtcdLease, type EtcdLeaseModules } from './etcd.js';
export { FileLease } from './file.js';
export * from './interface.js';
export { KubernetesLease, type KubernetesLeaseModules } from './kubernetes.js';
export * from './options.js';
export { PostgresLease, type PostgresLeaseModules } from './postgres.js';
export { RedisLease, type RedisLeaseModules } from './redis.js';

/** Which backend `--lease-backend` selects, with that backend's options. */
export type LeaseOptions =
  | ({ backend: 'redis' } & RedisLeaseOptions)
  | ({ backend: 'postgres' } & PostgresLeaseOptions)
  | ({ backend: 'etcd' } & EtcdLeaseOptions)
  | ({ backend: 'kubernetes' } & KubernetesLeaseOptions)
  | ({ backend: 'file' } & FileLeaseOptions);

export interface LeaseModules {
  logger: Logger;
  /** Required by the redis backend; a dedicated connection, so renewals never queue behind other traffic. */
  redis?: Redis;
  /** Required by the postgres backend; a pool of its own, for the same reason. */
  postgres?: Sql;
  /** Optional for the kubernetes backend: a loaded kubeconfig instead of the default loading rules. */
  kubeConfig?: KubeConfig;
}

/** Builds the configured lease backend (DESIGN §3). */
export function createLeaseBackend(opts: LeaseOptions, modules: LeaseModules): LeaseBackend {
  switch (opts.backend) {
    case 'redis': {
      if (!modules.redis) throw new Error('the redis lease backend needs a Redis connection (--redis-addr)');
      return new RedisLease(opts, { redis: modules.redis, logger: modules.logger });
    }
    case 'postgres': {
      if (!modules.postgres) throw new Error('the postgres lease backend needs a PostgreSQL connection');
      return new PostgresLease(opts, { sql: modules.postgres, logger: modules.logger });
    }
    case 'etcd':
      return new EtcdLease(opts, { logger: modules.logger });
    case 'kubernetes': {
      const k8sModules: KubernetesLeaseModules = { logger: modules.logger };
      if (modules.kubeConfig) k8sModules.kubeConfig = modules.kubeConfig;
      return new KubernetesLease(opts, k8sModules);
    }
    case 'file':
      return new FileLease(opts, modules);
  }
}

/** What a node configures its lease with; each backend reads its own fields. */
export interface NodeLeaseOptions {
  backend: LeaseBackendName;
  /** redis: the key prefix (`--redis-prefix`). */
  redisPrefix: string;
  /** postgres: the server (`--postgres-url`); the lease opens a small pool of its own on it. */
  postgresUrl?: string;
  /** etcd: the cluster's endpoints. */
  etcdEndpoints: string[];
  /** file: the lease file. */
  filePath: string;
}

export interface OpenedLease {
  backend: LeaseBackend;
  /** The lease backend's own cluster and each member's health, where it has one (etcd). */
  clusterMembers?: (signal: AbortSignal) => Promise<object[]>;
  /** Closes the connections the lease opened for itself (not a Redis connection it was given). */
  close(): Promise<void>;
}

/** A backend that cannot say who leads within this long at start is a misconfiguration, not a slow start. */
const FIRST_ANSWER_MS = 5_000;

/**
 * Opens the configured backend on connections of its own (so renewals never queue behind block
 * traffic) and checks it once by asking who leads: an unreachable etcd, a PostgreSQL that refuses
 * the lease's connection or a Kubernetes API without the Lease permissions fails here within
 * `FIRST_ANSWER_MS` (`LEASE_UNAVAILABLE`), instead of leaving a node that can never lead.
 */
export async function openLeaseBackend(opts: NodeLeaseOptions, modules: { logger: Logger; redis?: Redis }): Promise<OpenedLease> {
  const opened = openBackend(opts, modules);
  try {
    await opened.backend.current(AbortSignal.timeout(FIRST_ANSWER_MS));
  } catch (err) {
    await opened.close();
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${FIRST_ANSWER_MS} ms` : (err as Error).message.trim();
    throw new LeaseError(LeaseErrorCode.LEASE_UNAVAILABLE, `the ${opts.backend} lease backend does not answer: ${why}`, { backend: opts.backend });
  }
  return opened;
}

function openBackend(opts: NodeLeaseOptions, modules: { logger: Logger; redis?: Redis }): OpenedLease {
  const { logger } = modules;
  const none = async () => {};
  switch (opts.backend) {
    case 'postgres': {
      if (!opts.postgresUrl) throw new Error('the postgres lease backend needs a PostgreSQL server URL');
      // fetch_types off, as in the block store: a connection dropped while fetching types would crash the node.
      const sql = postgres(opts.postgresUrl, { max: 2, fetch_types: false, connect_timeout: FIRST_ANSWER_MS / 1000, onnotice: () => {} });
      return { backend: createLeaseBackend({ backend: 'postgres' }, { logger, postgres: sql }), close: () => sql.end({ timeout: 2 }) };
    }
    case 'etcd': {
      const lease = new EtcdLease({ endpoints: opts.etcdEndpoints }, { logger });
      return { backend: lease, clusterMembers: (signal) => lease.clusterMembers(signal), close: () => lease.close() };
    }
    case 'redis':
      return { backend: createLeaseBackend({ backend: 'redis', prefix: opts.redisPrefix }, modules), close: none };
    case 'kubernetes':
      return { backend: createLeaseBackend({ backend: 'kubernetes' }, { logger }), close: none };
    case 'file':
      return { backend: createLeaseBackend({ backend: 'file', path: opts.filePath }, { logger }), close: none };
  }
}
