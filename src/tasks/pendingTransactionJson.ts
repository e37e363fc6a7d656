import { createTxFromRLP, TransactionType } from '@ethereumjs/tx';
import { bytesToHex } from '@ethereumjs/util';
import { chainCommon } from './chainCommon.js';

export interface PendingTransactionJsonInput {
  /** An EIP-2718 envelope the shared mempool holds (validated when it was admitted); transfer its buffer. */
  raw: Uint8Array;
  chainId: bigint;
}

/**
 * A held transaction as Geth's `eth_getTransactionByHash` shows a pending one: the signed fields,
 * the recovered `from`, null block fields. Quantities are 0x hex; `gasPrice` of a dynamic-fee
 * transaction is its fee cap, as Geth reports it before inclusion.
 */
export type PendingTransactionJson = Record<string, unknown> & { hash: string; from: string; nonce: string; blockHash: null };

/**
 * Decodes a held raw transaction to its JSON-RPC form, recovering the sender (secp256k1: pool work,
 * never the supervisor thread). null if it does not decode, which an admitted one always does.
 */
export function pendingTransactionJson({ raw, chainId }: PendingTransactionJsonInput): PendingTransactionJson | null {
  try {
    const tx = createTxFromRLP(raw, { common: chainCommon(chainId) });
    const { data, gasLimit, ...fields } = tx.toJSON() as Record<string, unknown>;
    const dynamicFee = tx.type !== TransactionType.Legacy && tx.type !== TransactionType.AccessListEIP2930;
    return {
      ...fields,
      blockHash: null,
      blockNumber: null,
      transactionIndex: null,
      from: tx.getSenderAddress().toString().toLowerCase(),
      gas: gasLimit,
      gasPrice: dynamicFee ? fields.maxFeePerGas : fields.gasPrice,
      hash: bytesToHex(tx.hash()),
      input: data,
      nonce: fields.nonce as string,
      to: fields.to ?? null,
      type: `0x${tx.type.toString(16)}`,
      chainId: `0x${chainId.toString(16)}`,
      ...(tx.type === TransactionType.Legacy ? {} : { yParity: fields.v }),
    };
  } catch {
    return null;
  }
}
