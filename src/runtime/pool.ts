import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { Piscina } from 'piscina';
import type { Chaos } from './chaos.js';
import { CodedError } from './errors.js';
import type { RuntimeMetrics } from './metrics.js';
import { isTaskErrorResult, type PoolRequest, type PoolWorkerData } from './poolWorker.js';

/**
 * The pool's tasks by name, each a pure synchronous function of one input. The task table
 * (`tasks/index.ts`) adds its tasks to this interface by declaration merging, so `run` is typed
 * while the runtime itself knows no task.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging
export interface PoolTasks {}

/** Names of the registered tasks. */
export type TaskName = keyof PoolTasks & string;
type TaskInput<T extends TaskName> = PoolTasks[T] extends (input: infer I) => unknown ? I : never;
type TaskOutput<T extends TaskName> = PoolTasks[T] extends (input: never) => infer O ? O : never;

/** The tasks a pool runs: the functions themselves (for inline runs) and the module workers load them from. */
export interface TaskTable {
  /** Task functions by name. */
  table: Record<string, (input: never) => unknown>;
  /** URL of a module that exports the same table as `tasks`; every worker thread imports it. */
  moduleUrl: string;
}

export interface PoolOptions {
  tasks: TaskTable;
  /** Worker threads; default: one per core, so the supervisor thread shares a core with at most one worker. */
  threads?: number;
  /**
   * Run tasks on the calling thread instead. Only for the bench's baseline (the same pipeline with
   * the pool disabled) and for tools; a node never runs inline.
   */
  inline?: boolean;
}

export interface PoolModules {
  metrics: RuntimeMetrics;
  chaos: Chaos;
  logger: Logger;
}

/** The worker entry, next to this file: `poolWorker.js` when built, a tsx-registering shim when run from source. */
const WORKER_FILE = fileURLToPath(
  new URL(extname(fileURLToPath(import.meta.url)) === '.ts' ? './poolWorkerFromSource.mjs' : './poolWorker.js', import.meta.url),
);

/**
 * One shared piscina pool for all CPU-heavy work (DESIGN §1). Buffers passed in `transfer` are
 * moved to the worker, not copied; byte results are moved back. The queue is bounded
 * (`maxQueue: 'auto'`): `run` waits for `drain` instead of failing when it is full, and `isFull`
 * lets producers pause before submitting. A worker that dies mid-task rejects that task with
 * `WORKER_DIED`; piscina replaces the worker and the pool keeps serving.
 */
export class Pool {
  private readonly piscina: Piscina | null;
  /** piscina's `'auto'` queue bound: threads² waiting tasks. */
  private readonly maxQueue: number;
  private readonly table: TaskTable['table'];
  /** Producers waiting for queue room; woken whenever one of our tasks settles. */
  private roomWaiters: Array<() => void> = [];

  constructor(
    opts: PoolOptions,
    private readonly modules: PoolModules,
  ) {
    const threads = opts.threads ?? availableParallelism();
    this.maxQueue = threads ** 2;
    this.table = opts.tasks.table;
    this.piscina = opts.inline
      ? null
      : new Piscina({
          filename: WORKER_FILE,
          workerData: { tasksModule: opts.tasks.moduleUrl } satisfies PoolWorkerData,
          minThreads: threads,
          maxThreads: threads,
          maxQueue: 'auto',
          idleTimeout: 60_000,
        });
  }

  /** True when the queue is at its bound: a producer should `await drained()` before submitting more. */
  get isFull(): boolean {
    return this.piscina !== null && this.piscina.queueSize >= this.maxQueue;
  }

  /** Resolves at once while the queue has room, else as soon as a task settles and frees a slot. */
  async drained(): Promise<void> {
    while (this.isFull) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  /**
   * Run `task` on a worker. Every ArrayBuffer in `transfer` is detached from the caller
   * (`byteLength === 0` afterwards); pass only buffers you own entirely.
   */
  async run<T extends TaskName>(task: T, input: TaskInput<T>, transfer: ArrayBuffer[] = []): Promise<TaskOutput<T>> {
    const started = performance.now();
    try {
      if (!this.piscina) return (this.table[task] as unknown as (i: TaskInput<T>) => TaskOutput<T>)(input);
      // Check and submit in one microtask: woken waiters must not overfill the queue between them.
      while (this.isFull) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
      const request: PoolRequest = { task, input, killWorker: this.modules.chaos.takeWorkerKill(task) };
      this.modules.metrics.poolQueueSize.set(this.piscina.queueSize);
      const result: unknown = await this.piscina.run(request, { transferList: transfer });
      if (isTaskErrorResult(result)) throw CodedError.fromObject(result.taskError);
      return result as TaskOutput<T>;
    } catch (err) {
      throw this.toPoolError(task, err);
    } finally {
      this.modules.metrics.poolTaskSeconds.observe({ task }, (performance.now() - started) / 1000);
      if (this.piscina) this.modules.metrics.poolQueueSize.set(this.piscina.queueSize);
      this.wakeRoomWaiters();
    }
  }

  private wakeRoomWaiters(): void {
    if (this.roomWaiters.length === 0 || this.isFull) return;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }

  async destroy(): Promise<void> {
    await this.piscina?.destroy();
  }

  private toPoolError(task: string, err: unknown): Error {
    if (err instanceof CodedError) return err;
    const message = err instanceof Error ? err.message : String(err);
    if (/worker exited|terminated/i.test(message)) {
      this.modules.logger.warn({ task, err: message }, 'Pool worker died mid-task');
      return new CodedError('WORKER_DIED', `pool worker died while running ${task}: ${message}`, { task });
    }
    return new CodedError('TASK_FAILED', `pool task ${task} failed: ${message}`, { task });
  }
}
