/**
 * The entry point of every pool worker thread: loads the task table the pool was given, dispatches
 * a task by name to it, and moves (transfers) a byte result back instead of cloning it.
 */
import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { CodedError, type CodedErrorObject } from './errors.js';

/** What the pool hands each worker at start. */
export interface PoolWorkerData {
  /** URL of the module exporting the task table as `tasks`. */
  tasksModule: string;
}

/** Loaded once per worker; absent when this module is imported by the pool itself (main thread). */
const tasks: Record<string, (input: unknown) => unknown> = workerData?.tasksModule
  ? ((await import((workerData as PoolWorkerData).tasksModule)) as { tasks: Record<string, (input: unknown) => unknown> }).tasks
  : {};

export interface PoolRequest {
  task: string;
  input: unknown;
  /** Set by the chaos facility: the worker dies while holding this task. */
  killWorker?: boolean;
}

/**
 * A task's `CodedError`, sent back as a result: piscina clones thrown errors as plain `Error`s,
 * which would lose the code and metadata the caller decides by (DESIGN §1: errors are data).
 */
export interface TaskErrorResult {
  taskError: CodedErrorObject;
}

export function isTaskErrorResult(value: unknown): value is TaskErrorResult {
  return typeof value === 'object' && value !== null && 'taskError' in value && Object.keys(value).length === 1;
}

export default function runTask(request: PoolRequest): unknown {
  if (request.killWorker) process.exit(70);
  const fn = tasks[request.task];
  if (!fn) throw new Error(`unknown pool task ${request.task}`);
  try {
    return movable(fn(request.input));
  } catch (err) {
    if (err instanceof CodedError) return { taskError: err.toObject() } satisfies TaskErrorResult;
    throw err;
  }
}

/**
 * A byte result, or a plain object's byte fields, are moved back to the caller instead of cloned.
 * A view into a larger buffer (msgpackr packs into a shared one) is first copied into a buffer of
 * its own: cloning the view would copy the whole shared buffer, and moving it would detach it.
 */
function movable(result: unknown): unknown {
  if (result instanceof Uint8Array) return move(owned(result));
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return result;
  const fields = Object.entries(result).map(([key, value]) => [key, value instanceof Uint8Array ? owned(value) : value] as const);
  const buffers = fields.flatMap(([, value]) => (value instanceof Uint8Array ? [value.buffer as ArrayBuffer] : []));
  if (buffers.length === 0) return result;
  const value = Object.fromEntries(fields);
  return move({
    get [transferableSymbol]() {
      return buffers;
    },
    get [valueSymbol]() {
      return value;
    },
  } as never);
}

function owned(bytes: Uint8Array): Uint8Array {
  return isWholeBuffer(bytes) ? bytes : new Uint8Array(bytes);
}

/** Only a view that owns its whole ArrayBuffer can be transferred without detaching unrelated bytes. */
function isWholeBuffer(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && !(bytes.buffer instanceof SharedArrayBuffer);
}
