import { HttpError, HttpErrorCode } from '../http/errors.js';
import { JsonRpcError, JsonRpcErrorCode, type JsonRpcMethod } from '../http/jsonRpc.js';
import type { HttpServer } from '../http/server.js';
import type { Mempool } from './interface.js';
import { txStatusJson } from './rpc.js';

/** What a node without Redis answers where the shared mempool would. */
const MEMPOOL_OFF = 'the shared mempool is off: start the node with --redis-addr';

/** The mempool's JSON-RPC methods on a node without Redis: they exist, and say why they refuse. */
export const mempoolOffRpcMethods: Record<string, JsonRpcMethod> = {
  eth_sendRawTransaction: {
    handler: () => {
      throw new JsonRpcError(JsonRpcErrorCode.REFUSED, MEMPOOL_OFF);
    },
  },
  baton_txStatus: {
    handler: () => {
      throw new JsonRpcError(JsonRpcErrorCode.REFUSED, MEMPOOL_OFF);
    },
  },
};

/** `GET /txs/{hash}`: a transaction's place in the shared mempool (404 when unknown, or when there is no mempool). */
export function registerTxRoutes(server: HttpServer, mempool: Pick<Mempool, 'status'> | null): void {
  server.get('/txs/:hash', async (reply, req) => {
    const hash = req.getParameter(0) ?? '';
    if (!/^0x[0-9a-fA-F]{64}$/.test(hash))
      throw new HttpError(HttpErrorCode.BAD_REQUEST, `a transaction hash is 0x and 64 hex digits, got ${JSON.stringify(hash)}`);
    if (!mempool) throw new HttpError(HttpErrorCode.NOT_FOUND, MEMPOOL_OFF);
    const status = txStatusJson(await mempool.status(hash));
    reply.json(status.status === 'unknown' ? 404 : 200, { hash: hash.toLowerCase(), ...status });
  });
}
