/**
 * The Ethereum JSON-RPC endpoint of every node (DESIGN §6): `POST /rpc` forwards the allow-listed
 * reads to the node's own EL and answers the methods a Baton node must answer itself
 * (`methods.ts`). `ethRpcForwarder` is what the JSON-RPC router passes unknown methods to.
 */
import type { JsonRpcForwarder } from '../http/jsonRpc.js';
import { FORWARDED_METHODS, notServedMessage } from './allowList.js';
import type { JsonRpcUpstream } from './upstream.js';

export { FORWARDED_METHODS, notServedMessage } from './allowList.js';
export { type EthRpcModules, ethRpcMethods, type Leadership } from './methods.js';
export { JsonRpcUpstream } from './upstream.js';

/** Sends allow-listed methods to `el` as the client sent them; refuses the rest with the reason. */
export function ethRpcForwarder(el: JsonRpcUpstream): JsonRpcForwarder {
  return {
    allows: (method) => FORWARDED_METHODS.has(method),
    refusal: notServedMessage,
    send: (body) => el.send(body),
  };
}
