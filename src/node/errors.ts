import { CodedError } from '../runtime/errors.js';

/** What a node depends on at start; the CLI names the flag that configures each. */
export type StartupDependency =
  | 'dataDir'
  | 'healthAddr'
  | 'apiAddr'
  | 'postgres'
  | 'redis'
  | 'redisPassword'
  | 'redisTls'
  | 'lease'
  | 'executionClient'
  | 'jwtSecret'
  | 'genesis'
  | 'elRpcPort';

/**
 * A node could not start because something it depends on is wrong or unreachable (the data dir,
 * a listen address, the EL, its JWT secret, Redis, PostgreSQL, the lease backend). The CLI prints
 * it on one line naming the flag behind `dependency`, and exits with code 2, like a malformed flag.
 */
export class StartupError extends CodedError<'STARTUP_FAILED'> {
  constructor(
    readonly dependency: StartupDependency,
    reason: string,
  ) {
    super('STARTUP_FAILED', reason, { dependency });
  }
}
