/**
 * The pool's task table. Each task is a pure synchronous function in its own file, bytes in and
 * bytes out; the node hands this table to the pool (`poolTasks`), whose workers import this module
 * and look tasks up here by name.
 */
import type { TaskTable } from '../runtime/pool.js';
import { blockTxHashes } from './blockTxHashes.js';
import { decodeBlockPage } from './decodeBlockPage.js';
import { decodeTransaction, decodeTransactions } from './decodeTransaction.js';
import { encodeBlock } from './encodeBlock.js';
import { keccak256 } from './keccak256.js';
import { pendingTransactionJson } from './pendingTransactionJson.js';
import { verifyPayload } from './verifyPayload.js';

export const tasks = {
  blockTxHashes,
  decodeBlockPage,
  decodeTransaction,
  decodeTransactions,
  encodeBlock,
  keccak256,
  pendingTransactionJson,
  verifyPayload,
} as const;

export type Tasks = typeof tasks;

/** The table as the pool takes it: the functions, and this module's URL for the worker threads. */
export const poolTasks: TaskTable = { table: tasks, moduleUrl: import.meta.url };

declare module '../runtime/pool.js' {
  /** Types `Pool.run` by this table. */
  interface PoolTasks extends Tasks {}
}
