/**
 * The pool's task table. Each task is a pure synchronous function in its own file, bytes in and
 * bytes out; the pool worker looks tasks up here by name.
 */
import { encodeBlock } from './encodeBlock.js';
import { keccak256 } from './keccak256.js';

export const tasks = {
  encodeBlock,
  keccak256,
} as const;

export type Tasks = typeof tasks;
export type TaskName = keyof Tasks;
