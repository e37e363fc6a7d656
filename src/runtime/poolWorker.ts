/**
 * The entry point of every pool worker thread: dispatches a task by name to `src/tasks`, and
 * moves (transfers) a byte result back instead of cloning it.
 */
import { move } from 'piscina';
import { tasks, type TaskName } from '../tasks/index.js';

export interface PoolRequest {
  task: TaskName;
  input: unknown;
  /** Set by the chaos facility: the worker dies while holding this task. */
  killWorker?: boolean;
}

export default function runTask(request: PoolRequest): unknown {
  if (request.killWorker) process.exit(70);
  const fn = tasks[request.task] as (input: unknown) => unknown;
  if (!fn) throw new Error(`unknown pool task ${request.task}`);
  const result = fn(request.input);
  return result instanceof Uint8Array && isWholeBuffer(result) ? move(result) : result;
}

/** Only a view that owns its whole ArrayBuffer can be transferred without detaching unrelated bytes. */
export function isWholeBuffer(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && !(bytes.buffer instanceof SharedArrayBuffer);
}
