import { hexToBytes } from '@noble/hashes/utils.js';
import type { Pool } from '../../runtime/pool.js';
import { JsonRpcError, JsonRpcErrorCode, type JsonRpcMethod, quantity, TX_HASH } from '../http/jsonRpc.js';
import { MempoolError, MempoolErrorCode } from './errors.js';
import type { Mempool, TxStatus } from './interface.js';
import type { MempoolMetrics } from './metrics.js';

export interface MempoolRpcModules {
  pool: Pick<Pool, 'run'>;
  mempool: Mempool;
  /** This chain's id; transactions for any other are refused. */
  chainId: bigint;
  metrics: Pick<MempoolMetrics, 'submitted'>;
}

/** Geth's `txMaxSize` (4 slots of 32 KiB): anything larger no EL admits, so it is refused before the pool sees it. */
const MAX_TX_BYTES = 128 * 1024;
const HEX_BYTES = /^0x(?:[0-9a-fA-F]{2})+$/;

/** The JSON form of a status (`baton_txStatus`, `GET /txs/{hash}`): numbers as hex quantities. */
export type TxStatusJson =
  | { status: 'pending' | 'unknown' }
  | { status: 'queued'; reason: string }
  | { status: 'inflight'; epoch: string }
  | { status: 'finalized'; blockNumber: string }
  | { status: 'dropped'; reason: string };

export function txStatusJson(s: TxStatus): TxStatusJson {
  switch (s.status) {
    case 'pending':
    case 'unknown':
      return { status: s.status };
    case 'queued':
      return { status: 'queued', reason: s.reason };
    case 'inflight':
      return { status: 'inflight', epoch: quantity(s.epoch) };
    case 'finalized':
      return { status: 'finalized', blockNumber: quantity(s.blockNumber) };
    case 'dropped':
      return { status: 'dropped', reason: s.reason };
  }
}

/**
 * `eth_sendRawTransaction([raw])`: decode and recover the sender on the pool, then add to the shared
 * mempool. Returns the transaction hash, as Ethereum clients expect. Invalid, duplicate and
 * refused transactions throw `-32000` errors with the reason (`data.code` the mempool's string
 * code, or the current status for a duplicate); nothing invalid reaches Redis. Redis failures are
 * thrown as they are: the router answers them as internal errors.
 */
export async function eth_sendRawTransaction(params: unknown, modules: MempoolRpcModules): Promise<string> {
  const hex = firstParam(params);
  if (typeof hex !== 'string' || !HEX_BYTES.test(hex)) throw invalidParams('expected [rawTransaction] as 0x-prefixed hex bytes');
  if ((hex.length - 2) / 2 > MAX_TX_BYTES) throw rejected(modules, 'oversized data', { maxBytes: MAX_TX_BYTES });
  // A fresh buffer of its own, so it can be moved to the worker rather than copied.
  const bytes = hexToBytes(hex.slice(2));
  const decoded = await modules.pool.run('decodeTransaction', { raw: bytes, chainId: modules.chainId }, [bytes.buffer as ArrayBuffer]);
  if (!decoded.ok) throw rejected(modules, decoded.error.message, { code: decoded.error.code });
  const { hash } = decoded.tx;
  try {
    const result = await modules.mempool.add({ hash, raw: hex }, { from: decoded.tx.from, nonce: decoded.tx.nonce });
    if (!result.added) {
      modules.metrics.submitted('duplicate');
      throw new JsonRpcError(JsonRpcErrorCode.REFUSED, 'already known', txStatusJson(result.current));
    }
  } catch (err) {
    if (!(err instanceof MempoolError)) throw err;
    switch (err.code) {
      case MempoolErrorCode.MEMPOOL_FULL:
        modules.metrics.submitted('full');
        throw new JsonRpcError(JsonRpcErrorCode.REFUSED, 'txpool is full', { code: err.code });
      case MempoolErrorCode.SENDER_FULL:
        modules.metrics.submitted('senderFull');
        throw new JsonRpcError(JsonRpcErrorCode.REFUSED, err.message, { code: err.code, ...err.meta });
      default:
        throw err;
    }
  }
  modules.metrics.submitted('added');
  return hash;
}

/** `baton_txStatus([hash])`: pending | queued (reason) | inflight (epoch) | finalized (block number) | dropped (reason) | unknown. */
export async function baton_txStatus(params: unknown, modules: Pick<MempoolRpcModules, 'mempool'>): Promise<TxStatusJson> {
  const hash = firstParam(params);
  if (typeof hash !== 'string' || !TX_HASH.test(hash)) throw invalidParams('expected [transactionHash] as 0x-prefixed 32 bytes');
  return txStatusJson(await modules.mempool.status(hash));
}

/** Both methods bound to their modules, keyed by method name, for `registerJsonRpc`. */
export function mempoolRpcMethods(modules: MempoolRpcModules) {
  return {
    eth_sendRawTransaction: { handler: (params: unknown) => eth_sendRawTransaction(params, modules) },
    baton_txStatus: { handler: (params: unknown) => baton_txStatus(params, modules) },
  } satisfies Record<string, JsonRpcMethod>;
}

export type MempoolRpcMethods = ReturnType<typeof mempoolRpcMethods>;

/** JSON-RPC allows positional params only here; `[x]` and `[x, ...ignored]` both work, as with Geth. */
function firstParam(params: unknown): unknown {
  return Array.isArray(params) ? params[0] : undefined;
}

function invalidParams(message: string): JsonRpcError {
  return new JsonRpcError(JsonRpcErrorCode.INVALID_PARAMS, `invalid params: ${message}`);
}

function rejected(modules: MempoolRpcModules, message: string, data: Record<string, unknown>): JsonRpcError {
  modules.metrics.submitted('rejected');
  return new JsonRpcError(JsonRpcErrorCode.REFUSED, message, data);
}
