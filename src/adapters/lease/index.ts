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

/** How long one start-up question of the lease backend (who leads?) may take. */
const FIRST_ANSWER_MS = 5_000;
/**
 * A backend that is reachable but does not answer in time (an etcd cluster still electing its Raft
 * leader, a machine busy starting everything at once) is asked again until this long has passed.
 * A refusal (nothing listening, bad credentials, no permission) fails at once.
 */
const STARTUP_PATIENCE_MS = 30_000;

/**
 * Opens the configured backend on connections of its own (so renewals never queue behind block
 * traffic) and checks it by asking who leads: an unreachable etcd, a PostgreSQL that refuses the
 * lease's connection or a Kubernetes API without the Lease permissions fails here
 * (`LEASE_UNAVAILABLE`), instead of leaving a node that can never lead. A backend that only
 * answers slowly is asked again, within `STARTUP_PATIENCE_MS`.
 */
export async function openLeaseBackend(opts: NodeLeaseOptions, modules: { logger: Logger; redis?: Redis }): Promise<OpenedLease> {
  const opened = openBackend(opts, modules);
  const started = performance.now();
  for (;;) {
    const signal = AbortSignal.timeout(FIRST_ANSWER_MS);
    try {
      await opened.backend.current(signal);
      return opened;
    } catch (err) {
      if (signal.aborted && performance.now() - started + FIRST_ANSWER_MS <= STARTUP_PATIENCE_MS) {
        modules.logger.warn(
          { backend: opts.backend, waitedMs: Math.round(performance.now() - started) },
          'Lease backend reachable but not answering yet; asking again',
        );
        continue;
      }
      await opened.close();
      const why = signal.aborted ? `no answer within ${Math.round(performance.now() - started)} ms` : (err as Error).message.trim();
      throw new LeaseError(LeaseErrorCode.LEASE_UNAVAILABLE, `the ${opts.backend} lease backend does not answer: ${why}`, { backend: opts.backend });
    }
  }
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
