import { hexToBytes } from '@noble/hashes/utils.js';
import { CodedError } from '../../runtime/errors.js';
import type { Pool } from '../../runtime/pool.js';
import { EngineErrorCode } from '../engine/errors.js';
import type { EngineApi } from '../engine/interface.js';
import type { Mempool, MempoolTx } from './interface.js';

/** What the watcher does with a transaction that went missing from blocks. */
export type TxVerdict =
  /** It can still be included: it waits for the next batch. */
  | { action: 'keep' }
  /** Behind a nonce gap of its sender: it waits in `queued`, not resubmitted, until the gap is filled. */
  | { action: 'queue'; reason: string }
  /** It can never be included: dropped with the EL's reason. */
  | { action: 'drop'; reason: string };

/**
 * Judges a transaction that went missing from blocks against an EL's current state, as Geth's
 * txpool sorts its own. Throws when the EL or the mempool could not be asked.
 */
export type TxJudge = (tx: MempoolTx, signal: AbortSignal) => Promise<TxVerdict>;

export interface TxJudgeModules {
  engine: Pick<EngineApi, 'sendRawTransaction' | 'getTransactionCount' | 'getBlockByNumber'>;
  /** Decodes the transaction (sender, nonce, fee cap) off the supervisor thread. */
  pool: Pick<Pool, 'run'>;
  chainId: bigint;
  /** The sender's other held nonces: they fill a gap as much as the chain does. */
  mempool: Pick<Mempool, 'senderNonces'>;
}

/**
 * EL refusals that no amount of waiting fixes, as Geth and @ethereumjs/client word them. Anything
 * else ("already known", "replacement underpriced", a full txpool) may pass later.
 */
const PERMANENT_REJECTIONS: ReadonlyArray<[pattern: RegExp, category: string]> = [
  [/nonce too low/i, 'nonce too low'],
  [/insufficient (funds|balance)/i, 'insufficient funds'],
  [/intrinsic gas too low/i, 'intrinsic gas too low'],
  [/exceeds (the )?block gas limit/i, 'exceeds block gas limit'],
  // Geth's price limit ("transaction underpriced"), not its "replacement transaction underpriced".
  [/(?<!replacement transaction )underpriced|minimum gas price|cannot pay basefee/i, 'underpriced'],
];

/** The category of an EL's `eth_sendRawTransaction` refusal if it is final, else null. */
export function permanentRejection(message: string): string | null {
  return PERMANENT_REJECTIONS.find(([pattern]) => pattern.test(message))?.[1] ?? null;
}

/** An `EngineError` message is `<method>: RPC error <code>: <the EL's words>`; the reason keeps the EL's words. */
function elWords(message: string): string {
  return message.replace(/^[\w]+: RPC error -?\d+: /, '');
}

/**
 * A `TxJudge` on `engine`'s EL, in Geth's order: a nonce below the sender's account nonce is used
 * (drop); a nonce above it with a nonce in between that is neither on chain nor held is a gap
 * (queue); a fee cap below the head's base fee can never be included (drop, in Geth's words —
 * @ethereumjs/client admits such a transaction over RPC and never builds it); otherwise the
 * transaction is resubmitted, which is the EL's own admission check, and one it refuses for good is
 * dropped with its reason.
 */
export function engineTxJudge(modules: TxJudgeModules): TxJudge {
  const { engine } = modules;
  return async ({ raw }, signal) => {
    const bytes = hexToBytes(raw.slice(2));
    const decoded = await modules.pool.run('decodeTransaction', { raw: bytes, chainId: modules.chainId }, [bytes.buffer as ArrayBuffer]);
    // It was valid when admitted; one that no longer decodes (another chain id) can never be included.
    if (!decoded.ok) return { action: 'drop', reason: decoded.error.message };
    const tx = decoded.tx;
    const [stateNonce, heldNonces] = await Promise.all([engine.getTransactionCount(tx.from, 'latest', { signal }), modules.mempool.senderNonces(tx.from)]);
    if (tx.nonce < stateNonce) return { action: 'drop', reason: `nonce too low: address ${tx.from}, tx: ${tx.nonce} state: ${stateNonce}` };
    const held = new Set(heldNonces);
    let missing = stateNonce;
    while (missing < tx.nonce && held.has(missing)) missing++;
    if (missing < tx.nonce) {
      return { action: 'queue', reason: `nonce gap: address ${tx.from}, tx: ${tx.nonce} waits for nonce ${missing} (state: ${stateNonce})` };
    }
    const head = await engine.getBlockByNumber('latest', { signal });
    if (head?.baseFeePerGas !== undefined && tx.maxFeePerGas < head.baseFeePerGas) {
      const reason = `max fee per gas less than block base fee: address ${tx.from}, maxFeePerGas: ${tx.maxFeePerGas}, baseFee: ${head.baseFeePerGas}`;
      return { action: 'drop', reason };
    }
    try {
      await engine.sendRawTransaction(raw, { signal });
      return { action: 'keep' };
    } catch (err) {
      // Only an RPC answer says something about the transaction; a transport failure says nothing.
      if (!CodedError.is(err, EngineErrorCode.RPC)) throw err;
      const category = permanentRejection(err.message);
      return category === null ? { action: 'keep' } : { action: 'drop', reason: `${category}: ${elWords(err.message)}` };
    }
  };
}
