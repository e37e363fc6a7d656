/**
 * The port Baton uses to drive an execution client (EL). Its values are the Engine API's JSON
 * shapes of `types/engine.ts`.
 */
import type {
  Data,
  ElBlock,
  ExecutionPayloadV3,
  ForkchoiceStateV1,
  ForkchoiceUpdatedResponse,
  GetPayloadV4Response,
  PayloadAttributesV3,
  PayloadStatusV1,
  TransactionReceipt,
} from '../../types/engine.js';

/** Block tags accepted by `eth_getBlockByNumber`, besides a number. */
export type BlockTag = 'latest' | 'earliest' | 'pending' | 'safe' | 'finalized';

/** Per-call options. The signal is combined with the client's own and the method's timeout. */
export interface CallOptions {
  signal?: AbortSignal;
}

/**
 * What the node needs from its EL. Transport, RPC and parse failures throw `EngineError`;
 * payload statuses (including INVALID) are returned, never thrown.
 */
export interface EngineApi {
  exchangeCapabilities(opts?: CallOptions): Promise<string[]>;
  forkchoiceUpdatedV3(state: ForkchoiceStateV1, attributes?: PayloadAttributesV3 | null, opts?: CallOptions): Promise<ForkchoiceUpdatedResponse>;
  getPayloadV4(payloadId: Data, opts?: CallOptions): Promise<GetPayloadV4Response>;
  newPayloadV4(
    payload: ExecutionPayloadV3,
    versionedHashes: Data[],
    parentBeaconBlockRoot: Data,
    executionRequests: Data[],
    opts?: CallOptions,
  ): Promise<PayloadStatusV1>;
  getBlockByNumber(block: BlockTag | bigint | number, opts?: CallOptions): Promise<ElBlock | null>;
  chainId(opts?: CallOptions): Promise<bigint>;
  sendRawTransaction(rawTx: Data, opts?: CallOptions): Promise<Data>;
  /** `eth_getTransactionCount`: the next nonce of `address` at `block`. */
  getTransactionCount(address: Data, block: BlockTag, opts?: CallOptions): Promise<bigint>;
  getTransactionReceipt(txHash: Data, opts?: CallOptions): Promise<TransactionReceipt | null>;
}
