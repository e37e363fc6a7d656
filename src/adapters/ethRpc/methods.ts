import { hexToBytes } from '@noble/hashes/utils.js';
import type { Pool } from '../../runtime/pool.js';
import { FORWARDED_HEADER, type JsonRpcContext, JsonRpcError, JsonRpcErrorCode, type JsonRpcMethod, quantity, TX_HASH } from '../http/jsonRpc.js';
import type { Mempool } from '../mempool/interface.js';
import { JsonRpcUpstream } from './upstream.js';

/** Who leads, as this node last heard: where writes go when there is no shared mempool. */
export interface Leadership {
  isLeader: boolean;
  /** The leader's API URL (`--leader-url`, or what the lease holder advertised). */
  leaderApiUrl: string | null;
}

export interface EthRpcModules {
  /** This node's own EL (embedded, or `--eth-rpc-url`). */
  el: JsonRpcUpstream;
  pool: Pick<Pool, 'run'>;
  /** The shared mempool (with Redis): its held transactions count for `pending`. */
  mempool: Pick<Mempool, 'senderNonces' | 'heldRaw'> | null;
  /** With the shared mempool: its `eth_sendRawTransaction` (decode on the pool, then Redis). */
  submitToMempool: ((params: unknown) => Promise<string>) | null;
  leadership(): Leadership;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/**
 * The Ethereum methods `POST /rpc` answers itself rather than passing through, each because the
 * EL alone would answer wrongly on a Baton node: writes must reach the shared mempool or the
 * leader, `pending` must count what Baton holds, and @ethereumjs/client needs the type of a call
 * object spelled out. Everything else on the allow-list goes to the EL unchanged.
 */
export function ethRpcMethods(modules: EthRpcModules) {
  const { el } = modules;
  const leaders = new Map<string, JsonRpcUpstream>();
  let chainId: Promise<bigint> | null = null;

  /** The leader's `/rpc`, marked as forwarded so it is never forwarded again; null when this node should answer itself. */
  function leaderRpc(context: JsonRpcContext): JsonRpcUpstream | null {
    const { isLeader, leaderApiUrl } = modules.leadership();
    if (isLeader || context.forwarded || leaderApiUrl === null) return null;
    const url = `${leaderApiUrl.replace(/\/$/, '')}/rpc`;
    let upstream = leaders.get(url);
    if (!upstream) {
      upstream = new JsonRpcUpstream(url, { [FORWARDED_HEADER]: '1' });
      leaders.set(url, upstream);
    }
    return upstream;
  }

  async function sendRawTransaction(params: unknown, context: JsonRpcContext): Promise<unknown> {
    if (modules.submitToMempool) return modules.submitToMempool(params);
    if (modules.leadership().isLeader) return el.call('eth_sendRawTransaction', params);
    const leader = leaderRpc(context);
    if (leader) return leader.call('eth_sendRawTransaction', params);
    throw new JsonRpcError(
      JsonRpcErrorCode.REFUSED,
      context.forwarded ? 'this node does not lead (leadership moved); send the transaction again' : 'no leader is known yet; send the transaction again',
    );
  }

  /**
   * `pending`: the sender's account nonce (`latest`), then every nonce Baton holds for it in
   * sequence after that, so a wallet's second transaction gets the next nonce while the first still
   * waits in the shared mempool, and a nonce past a gap is not counted (Geth's pending nonce).
   * Not the EL's own `pending`: @ethereumjs/client adds every transaction of the sender in its
   * txpool, gapped ones included. Without the mempool a follower asks the leader, whose EL holds the txpool.
   */
  async function getTransactionCount(params: unknown, context: JsonRpcContext): Promise<unknown> {
    const [address, tag] = Array.isArray(params) ? params : [];
    if (tag !== 'pending') return el.call('eth_getTransactionCount', params);
    if (typeof address !== 'string' || !ADDRESS.test(address)) throw invalidParams('expected [address, blockTag] with a 20-byte 0x address');
    if (!modules.mempool) return (leaderRpc(context) ?? el).call('eth_getTransactionCount', params);
    const [counted, held] = await Promise.all([el.call('eth_getTransactionCount', [address, 'latest']), modules.mempool.senderNonces(address)]);
    let next = BigInt(counted as string);
    for (const nonce of held) {
      if (nonce === next) next++;
      else if (nonce > next) break;
    }
    return quantity(next);
  }

  /** The EL's answer, or the held transaction in Geth's pending shape until a committed block includes it. */
  async function getTransactionByHash(params: unknown): Promise<unknown> {
    const found = await el.call('eth_getTransactionByHash', params);
    if (found !== null || !modules.mempool) return found;
    const [hash] = Array.isArray(params) ? params : [];
    if (typeof hash !== 'string' || !TX_HASH.test(hash)) return null;
    const raw = await modules.mempool.heldRaw(hash);
    if (raw === null) return null;
    chainId ??= el.call('eth_chainId', []).then((id) => BigInt(id as string));
    const bytes = hexToBytes(raw.slice(2));
    return modules.pool.run('pendingTransactionJson', { raw: bytes, chainId: await chainId }, [bytes.buffer as ArrayBuffer]);
  }

  /**
   * @ethereumjs/client reads a call object without `type` as a legacy transaction, so an EIP-1559
   * estimate (what viem and ethers send for a wallet that passes no gas) fails with "gasPrice (0)
   * is less than the block's baseFeePerGas". Geth infers the type from the fee fields; so does this.
   */
  function withInferredType(method: string) {
    return (params: unknown) => {
      if (!Array.isArray(params) || typeof params[0] !== 'object' || params[0] === null) return el.call(method, params);
      const call = params[0] as Record<string, unknown>;
      const type = inferredType(call);
      return el.call(method, type === undefined ? params : [{ ...call, type }, ...params.slice(1)]);
    };
  }

  /** The EL's tip suggestion; @ethereumjs/client lacks the method, so then the gas price over the latest base fee. */
  async function maxPriorityFeePerGas(): Promise<unknown> {
    try {
      return await el.call('eth_maxPriorityFeePerGas', []);
    } catch (err) {
      if (!(err instanceof JsonRpcError) || err.rpcCode !== JsonRpcErrorCode.METHOD_NOT_FOUND) throw err;
    }
    const [gasPrice, block] = await Promise.all([el.call('eth_gasPrice', []), el.call('eth_getBlockByNumber', ['latest', false])]);
    const baseFee = BigInt((block as { baseFeePerGas?: string } | null)?.baseFeePerGas ?? '0x0');
    const tip = BigInt(gasPrice as string) - baseFee;
    return quantity(tip > 0n ? tip : 0n);
  }

  return {
    eth_sendRawTransaction: { handler: sendRawTransaction },
    eth_getTransactionCount: { handler: getTransactionCount },
    eth_getTransactionByHash: { handler: getTransactionByHash },
    eth_estimateGas: { handler: withInferredType('eth_estimateGas') },
    eth_call: { handler: withInferredType('eth_call') },
    eth_createAccessList: { handler: withInferredType('eth_createAccessList') },
    eth_maxPriorityFeePerGas: { handler: maxPriorityFeePerGas },
  } satisfies Record<string, JsonRpcMethod>;
}

/** The EIP-2718 type a call object's fields imply, as Geth's `TransactionArgs` infers it; undefined when it names one or implies legacy. */
function inferredType(call: Record<string, unknown>): string | undefined {
  if (call.type !== undefined) return undefined;
  if (call.authorizationList !== undefined) return '0x4';
  if (call.maxFeePerGas !== undefined || call.maxPriorityFeePerGas !== undefined) return '0x2';
  if (call.accessList !== undefined) return '0x1';
  return undefined;
}

function invalidParams(message: string): JsonRpcError {
  return new JsonRpcError(JsonRpcErrorCode.INVALID_PARAMS, `invalid params: ${message}`);
}
