import type { Redis } from "ioredis";
import type { Sql } from "postgres";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { LeaseBackend } from "./interface.js";
import { RedisLease } from "./redis.js";
import { FileLease } from "./file.js";
import { PostgresLease } from "./postgres.js";
import { EtcdLease } from "./etcd.js";
import { KubernetesLease, type KubernetesLeaseModules } from "./kubernetes.js";
import type { EtcdLeaseOptions, FileLeaseOptions, KubernetesLeaseOptions, PostgresLeaseOptions, RedisLeaseOptions } from "./options.js";

export * from "./interface.js";
export * from "./errors.js";
export * from "./options.js";
export { RedisLease, type RedisLeaseModules } from "./redis.js";
export { FileLease } from "./file.js";
export { PostgresLease, type PostgresLeaseModules } from "./postgres.js";
export { EtcdLease, type EtcdLeaseModules } from "./etcd.js";
export { KubernetesLease, type KubernetesLeaseModules } from "./kubernetes.js";

/** Which backend `--lease-backend` selects, with that backend's options. */
export type LeaseOptions =
  | ({ backend: "redis" } & RedisLeaseOptions)
  | ({ backend: "postgres" } & PostgresLeaseOptions)
  | ({ backend: "etcd" } & EtcdLeaseOptions)
  | ({ backend: "kubernetes" } & KubernetesLeaseOptions)
  | ({ backend: "file" } & FileLeaseOptions);

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
    case "redis": {
      if (!modules.redis) throw new Error("the redis lease backend needs a Redis connection (--redis-addr)");
      return new RedisLease(opts, { redis: modules.redis, logger: modules.logger });
    }
    case "postgres": {
      if (!modules.postgres) throw new Error("the postgres lease backend needs a PostgreSQL connection");
      return new PostgresLease(opts, { sql: modules.postgres, logger: modules.logger });
    }
    case "etcd":
      return new EtcdLease(opts, { logger: modules.logger });
    case "kubernetes": {
      const k8sModules: KubernetesLeaseModules = { logger: modules.logger };
      if (modules.kubeConfig) k8sModules.kubeConfig = modules.kubeConfig;
      return new KubernetesLease(opts, k8sModules);
    }
    case "file":
      return new FileLease(opts, modules);
  }
}
