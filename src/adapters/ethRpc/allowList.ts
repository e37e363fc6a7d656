/**
 * Which Ethereum JSON-RPC methods `POST /rpc` forwards to the node's own EL (DESIGN §6): the reads
 * wallets, viem, ethers and Foundry's `cast` use, and nothing that administers, debugs or drives
 * the EL. Op-geth's and op-conductor's public endpoints make the same cut. Anything not listed is
 * refused with -32601 before it reaches the EL.
 */
export const FORWARDED_METHODS: ReadonlySet<string> = new Set([
  'web3_clientVersion',
  'web3_sha3',
  'net_version',
  'net_listening',
  'net_peerCount',
  'eth_chainId',
  'eth_syncing',
  'eth_protocolVersion',
  'eth_blockNumber',
  'eth_getBalance',
  'eth_getCode',
  'eth_getStorageAt',
  'eth_getProof',
  'eth_getTransactionCount',
  'eth_call',
  'eth_estimateGas',
  'eth_createAccessList',
  'eth_gasPrice',
  'eth_maxPriorityFeePerGas',
  'eth_feeHistory',
  'eth_blobBaseFee',
  'eth_getBlockByNumber',
  'eth_getBlockByHash',
  'eth_getBlockReceipts',
  'eth_getBlockTransactionCountByHash',
  'eth_getBlockTransactionCountByNumber',
  'eth_getUncleCountByBlockHash',
  'eth_getUncleCountByBlockNumber',
  'eth_getTransactionByHash',
  'eth_getTransactionByBlockHashAndIndex',
  'eth_getTransactionByBlockNumberAndIndex',
  'eth_getTransactionReceipt',
  'eth_getLogs',
  'eth_accounts',
]);

/**
 * Namespaces refused from outside, with why; they would let a caller reconfigure the EL, read its
 * internals, drive its fork choice behind Baton's back or use keys held on the node.
 */
const REFUSED_NAMESPACES: ReadonlyArray<[prefix: string, why: string]> = [
  ['admin_', 'administers the execution client'],
  ['debug_', "exposes the execution client's internals"],
  ['engine_', 'is the consensus interface, driven by Baton alone'],
  ['personal_', 'uses keys held on the node'],
  ['miner_', "changes the execution client's block building"],
  ['txpool_', "exposes the execution client's txpool; use baton_txStatus"],
];

/** The -32601 message for a method `POST /rpc` does not serve, naming the namespace when it is a refused one. */
export function notServedMessage(method: string): string {
  const refused = REFUSED_NAMESPACES.find(([prefix]) => method.startsWith(prefix));
  if (refused) return `the method ${method} is not served here: the ${refused[0]} namespace ${refused[1]}`;
  return `the method ${method} does not exist or is not served on this endpoint`;
}
