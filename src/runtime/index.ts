/** The actor runtime (DESIGN §1): actors, bounded mailboxes, an OTP supervisor, one worker pool, crash injection. */
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { Chaos } from './chaos.js';
import { createRuntimeMetrics } from './metrics.js';
import { Pool, type PoolOptions } from './pool.js';
import type { SupervisorModules } from './supervisor.js';

export type { Actor, ActorContext, ChildSpec, Message, RestartType } from './actor.js';
export { type ActorFault, Chaos, type FaultKind } from './chaos.js';
export { decode, encode, type MessageCodec, msgpackCodec, structuredCloneCodec } from './codec.js';
export { CodedError, type CodedErrorObject } from './errors.js';
export { createRuntimeMetrics, type RuntimeMetrics } from './metrics.js';
export { Pool, type PoolOptions, type PoolTasks, type TaskName, type TaskTable } from './pool.js';
export { type RestartStrategy, Supervisor, type SupervisorOptions } from './supervisor.js';

export interface RuntimeOptions {
  pool: PoolOptions;
  /** Enables crash injection; never on by default. */
  chaos?: boolean;
  logger?: Logger;
  registry?: Registry;
}

/** Everything a supervisor and its actors share: one logger, one metrics registry, one pool, one chaos switch. */
export function createRuntimeModules(opts: RuntimeOptions): SupervisorModules {
  const logger = opts.logger ?? pino({ level: 'info' });
  const registry = opts.registry ?? new Registry();
  const metrics = createRuntimeMetrics(registry);
  const chaos = new Chaos(opts.chaos ?? false);
  const pool = new Pool(opts.pool, { metrics, chaos, logger });
  return { logger, registry, metrics, pool, chaos };
}
