import { CodedError } from '../../runtime/errors.js';
import { EngineErrorCode } from '../engine/errors.js';
import type { EngineApi } from '../engine/interface.js';

/**
 * Asks an EL about a transaction that went missing from blocks: a drop reason if the EL refuses it
 * for good, null if it accepts it (or already has it). Throws when the EL could not be asked.
 */
export type TxCheck = (raw: string, signal: AbortSignal) => Promise<string | null>;

/**
 * EL refusals that no amount of waiting fixes, as Geth and @ethereumjs/client word them, with the
 * reason the mempool records. Anything else ("already known", "replacement underpriced", a full
 * txpool) may pass later, so the transaction stays pending.
 */
const PERMANENT_REJECTIONS: ReadonlyArray<[pattern: RegExp, reason: string]> = [
  [/nonce too low/i, 'nonce too low'],
  [/insufficient (funds|balance)/i, 'insufficient funds'],
  [/intrinsic gas too low/i, 'intrinsic gas too low'],
  [/exceeds (the )?block gas limit/i, 'exceeds block gas limit'],
];

/** The drop reason for an EL's `eth_sendRawTransaction` error message, or null if it is not final. */
export function permanentRejection(message: string): string | null {
  return PERMANENT_REJECTIONS.find(([pattern]) => pattern.test(message))?.[1] ?? null;
}

/**
 * A `TxCheck` that resubmits to `engine`'s EL. Resubmitting is the check: an EL validates a
 * transaction against its current state on admission, and one it accepts is back in its txpool.
 */
export function engineTxCheck(engine: Pick<EngineApi, 'sendRawTransaction'>): TxCheck {
  return async (raw, signal) => {
    try {
      await engine.sendRawTransaction(raw, { signal });
      return null;
    } catch (err) {
      // Only an RPC answer says something about the transaction; a transport failure says nothing.
      if (!CodedError.is(err, EngineErrorCode.RPC)) throw err;
      return permanentRejection(err.message);
    }
  };
}
