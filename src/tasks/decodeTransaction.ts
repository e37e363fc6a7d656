import { RLP } from '@ethereumjs/rlp';
import { Capability, createTxFromRLP, TransactionType, type TypedTransaction } from '@ethereumjs/tx';
import { bytesToBigInt, bytesToHex } from '@ethereumjs/util';
import { CodedError, type CodedErrorObject } from '../runtime/errors.js';
import { chainCommon } from './chainCommon.js';

/**
 * Why a transaction cannot be admitted. These reach clients as JSON-RPC `-32000` errors; nothing
 * they describe ever reaches Redis.
 */
export const TxErrorCode = {
  /** Not a transaction: bad RLP, wrong field count, an unknown type byte, a value out of range. */
  TX_MALFORMED: 'TX_MALFORMED',
  /** Signed for another chain: replaying it here is exactly what EIP-155 exists to prevent. */
  TX_WRONG_CHAIN: 'TX_WRONG_CHAIN',
  /** No signature (v, r, s empty): there is no sender to recover. */
  TX_UNSIGNED: 'TX_UNSIGNED',
  /** A pre-EIP-155 legacy signature (v = 27/28) is valid on every chain; ELs refuse it over RPC too. */
  TX_UNPROTECTED: 'TX_UNPROTECTED',
  /** The signature does not recover a sender (bad r/s, high s per EIP-2). */
  TX_INVALID_SIGNATURE: 'TX_INVALID_SIGNATURE',
  /** Decodes and recovers but can never execute (e.g. gas limit below the intrinsic gas). */
  TX_INVALID: 'TX_INVALID',
  /** A type this chain cannot carry: blob transactions need sidecars that Baton's payloads never have. */
  TX_UNSUPPORTED_TYPE: 'TX_UNSUPPORTED_TYPE',
} as const;
export type TxErrorCode = (typeof TxErrorCode)[keyof typeof TxErrorCode];

/** The task's one error class; metadata values are strings so they survive msgpack and JSON. */
export class TxError extends CodedError<TxErrorCode> {
  constructor(code: TxErrorCode, message: string, meta: Record<string, string> = {}) {
    super(code, message, meta);
  }
}

export interface DecodeTransactionInput {
  /** The EIP-2718 envelope as sent to `eth_sendRawTransaction`; transfer its buffer to the pool. */
  raw: Uint8Array;
  /** This chain's id: a transaction signed for any other chain is refused. */
  chainId: bigint;
}

/** What the mempool and the RPC need of a valid transaction. Hex is 0x-prefixed lower case. */
export interface DecodedTransaction {
  hash: string;
  /** The recovered sender. */
  from: string;
  /** null for a contract creation. */
  to: string | null;
  nonce: bigint;
  chainId: bigint;
  /** EIP-2718 type: 0 legacy, 1 access list, 2 EIP-1559, 4 EIP-7702. */
  type: number;
  gasLimit: bigint;
  value: bigint;
  /** The most it pays per gas: `maxFeePerGas` (EIP-1559 and later), `gasPrice` (legacy, access list). */
  maxFeePerGas: bigint;
}

/**
 * A rejection is returned, not thrown: invalid input is an answer, not a crash (DESIGN §1), and an
 * error thrown in a worker reaches the caller through structured clone, which keeps its message but
 * drops `code` and `meta`. As plain data the code survives the thread hop unchanged.
 */
export type DecodeTransactionResult = { ok: true; tx: DecodedTransaction } | { ok: false; error: CodedErrorObject };

/**
 * Decode a raw transaction and recover its sender (~0.15 ms with native secp256k1, ~2 ms without: pool work). Refuses,
 * with a `TX_*` code: malformed, wrong-chain, unsigned, unprotected (pre-EIP-155), bad signature,
 * unexecutable (intrinsic gas), and blob transactions.
 */
export function decodeTransaction(input: DecodeTransactionInput): DecodeTransactionResult {
  try {
    return { ok: true, tx: decode(input) };
  } catch (err) {
    if (err instanceof TxError) return { ok: false, error: err.toObject() };
    throw err;
  }
}

/** Several transactions of one chain. */
export interface DecodeTransactionsInput {
  raws: Uint8Array[];
  chainId: bigint;
}

/**
 * `decodeTransaction` for each of `raws`, in order, as one pool task: a JSON-RPC batch or a burst
 * of requests then costs one thread hop (~0.1–0.3 ms of messaging each) instead of one per transaction.
 */
export function decodeTransactions({ raws, chainId }: DecodeTransactionsInput): DecodeTransactionResult[] {
  return raws.map((raw) => decodeTransaction({ raw, chainId }));
}

function decode({ raw: bytes, chainId }: DecodeTransactionInput): DecodedTransaction {
  if (bytes.length === 0) throw new TxError(TxErrorCode.TX_MALFORMED, 'empty transaction');
  let tx: TypedTransaction;
  try {
    tx = createTxFromRLP(bytes, { common: chainCommon(chainId) });
  } catch (err) {
    // @ethereumjs/tx refuses a foreign chain id like any other bad field; tell them apart here.
    const declared = declaredChainId(bytes);
    if (declared !== null && declared !== chainId) {
      throw new TxError(TxErrorCode.TX_WRONG_CHAIN, `transaction is for chain ${declared}, this chain is ${chainId}`, {
        chainId: declared.toString(),
      });
    }
    throw new TxError(TxErrorCode.TX_MALFORMED, `cannot decode transaction: ${(err as Error).message}`);
  }
  if (tx.type === TransactionType.BlobEIP4844) {
    throw new TxError(TxErrorCode.TX_UNSUPPORTED_TYPE, 'blob transactions are not accepted: Baton payloads carry no blob sidecars');
  }
  if (!tx.isSigned()) throw new TxError(TxErrorCode.TX_UNSIGNED, 'transaction is not signed');
  if (tx.type === TransactionType.Legacy && !tx.supports(Capability.EIP155ReplayProtection)) {
    throw new TxError(TxErrorCode.TX_UNPROTECTED, 'only replay-protected (EIP-155) transactions are accepted');
  }
  let from: string;
  try {
    from = tx.getSenderAddress().toString();
  } catch (err) {
    throw new TxError(TxErrorCode.TX_INVALID_SIGNATURE, `cannot recover the sender: ${(err as Error).message}`);
  }
  // The sender key is cached by now, so this re-checks only what recovery does not: the intrinsic gas.
  const problems = tx.getValidationErrors();
  if (problems.length > 0) throw new TxError(TxErrorCode.TX_INVALID, problems.join('; '));
  return {
    hash: bytesToHex(tx.hash()),
    from: from.toLowerCase(),
    to: tx.to ? tx.to.toString().toLowerCase() : null,
    nonce: tx.nonce,
    chainId,
    type: tx.type,
    gasLimit: tx.gasLimit,
    value: tx.value,
    maxFeePerGas: 'maxFeePerGas' in tx ? tx.maxFeePerGas : tx.gasPrice,
  };
}

/**
 * The chain id a transaction that failed to decode claims, or null if it claims none or is not
 * even RLP: typed envelopes carry it as their first field, EIP-155 legacy ones in v = 2·id + 35/36.
 */
function declaredChainId(bytes: Uint8Array): bigint | null {
  try {
    const typed = bytes[0]! <= 0x7f;
    const fields = RLP.decode(typed ? bytes.subarray(1) : bytes);
    if (!Array.isArray(fields)) return null;
    const field = typed ? fields[0] : fields[6];
    if (!(field instanceof Uint8Array)) return null;
    const value = bytesToBigInt(field);
    if (typed) return value;
    return value >= 35n ? (value - 35n) / 2n : null;
  } catch {
    return null;
  }
}
