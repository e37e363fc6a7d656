import { CodedError } from '../../runtime/errors.js';

/** Why the embedded execution client could not be set up or kept running. */
export const ExecutionClientErrorCode = {
  /** `--genesis` is unreadable or not a Geth genesis. */
  GENESIS_INVALID: 'EL_GENESIS_INVALID',
  /** The data dir already holds a chain with another genesis; starting would fork it. */
  GENESIS_MISMATCH: 'EL_GENESIS_MISMATCH',
  /** A fixed port (`--el-rpc-port`) is already taken by another process. */
  PORT_BUSY: 'EL_RPC_PORT_BUSY',
  /** The child exited (or reported a fatal start error) before its Engine API answered. */
  START_FAILED: 'EL_START_FAILED',
  /** The Engine API did not answer within the start timeout. */
  START_TIMEOUT: 'EL_START_TIMEOUT',
} as const;

export type ExecutionClientErrorCode = (typeof ExecutionClientErrorCode)[keyof typeof ExecutionClientErrorCode];

/** The one error class of the embedded EL adapter; start failures carry the log tail in `meta`. */
export class ExecutionClientError extends CodedError<ExecutionClientErrorCode> {}
