/**
 * The pool's task table. Each task is a pure synchronous function in its own file, bytes in and
 * bytes out; the pool worker looks tasks up here by name.
 */
import { blockTxHashes } from './blockTxHashes.js';
import { decodeBlockPage } from './decodeBlockPage.js';
import { decodeTransaction } from './decodeTransaction.js';
import { encodeBlock } from './encodeBlock.js';
import { keccak256 } from './keccak256.js';
import { verifyPayload } from './verifyPayload.js';

export const tasks = {
  blockTxHashes,
  decodeBlockPage,
  decodeTransaction,
  encodeBlock,
  keccak256,
  verifyPayload,
} as const;

export type Tasks = typeof tasks;
export type TaskName = keyof Tasks;
