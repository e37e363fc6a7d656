import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { LeaseBackend } from "./interface.js";
import { RedisLease } from "./redis.js";
import { FileLease } from "./file.js";
import type { FileLeaseOptions, RedisLeaseOptions } from "./options.js";

export * from "./interface.js";
export * from "./errors.js";
export * from "./options.js";
export { RedisLease, type RedisLeaseModules } from "./redis.js";
export { FileLease } from "./file.js";

/** Which backend `--lease-backend` selects, with that backend's options. */
export type LeaseOptions = ({ backend: "redis" } & RedisLeaseOptions) | ({ backend: "file" } & FileLeaseOptions);

export interface LeaseModules {
  logger: Logger;
  /** Required by the redis backend; a dedicated connection, so renewals never queue behind other traffic. */
  redis?: Redis;
}

/** Builds the configured lease backend (DESIGN §3). */
export function createLeaseBackend(opts: LeaseOptions, modules: LeaseModules): LeaseBackend {
  switch (opts.backend) {
    case "redis": {
      if (!modules.redis) throw new Error("the redis lease backend needs a Redis connection (--redis-addr)");
      return new RedisLease(opts, { redis: modules.redis, logger: modules.logger });
    }
    case "file":
      return new FileLease(opts, modules);
  }
}
