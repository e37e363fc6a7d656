import {
  type Data,
  type ElBlock,
  type ExecutionPayloadV3,
  type ForkchoiceStateV1,
  type ForkchoiceUpdatedResponse,
  type GetPayloadV4Response,
  PAYLOAD_STATUSES,
  type PayloadAttributesV3,
  type PayloadStatus,
  type PayloadStatusV1,
  type TransactionReceipt,
} from '../../types/engine.js';
import { EngineError, EngineErrorCode } from './errors.js';
import type { BlockTag, CallOptions, EngineApi } from './interface.js';
import { JsonRpcHttp } from './jsonRpc.js';
import { JwtSigner } from './jwt.js';
import type { EngineOptions } from './options.js';

/** The Engine methods Baton calls, announced to the EL in `engine_exchangeCapabilities`. */
export const BATON_ENGINE_METHODS = ['engine_forkchoiceUpdatedV3', 'engine_getPayloadV4', 'engine_newPayloadV4'] as const;

export interface EngineModules {
  /** Fires on node stop: aborts every request in flight or queued. */
  signal?: AbortSignal;
}

/**
 * Engine API client over HTTP (JSON-RPC, JWT HS256), modelled on lodestar's `ExecutionEngineHttp`.
 *
 * `forkchoiceUpdatedV3` and `newPayloadV4` run one at a time in call order: both move or validate
 * the EL's chain, and an EL seeing them reordered could apply a stale head over a newer one.
 * A queued call whose signal fires is rejected when its turn comes, without being sent; the wait
 * is bounded by the timeouts of the calls ahead of it. `getPayloadV4` and the `eth_` helpers run
 * concurrently.
 */
export class HttpEngineClient implements EngineApi {
  private readonly rpc = new JsonRpcHttp();
  private readonly signer: JwtSigner | null;
  /** Tail of the forkchoice/newPayload chain; never rejects so one failure does not block the next. */
  private serialTail: Promise<void> = Promise.resolve();

  constructor(
    private readonly opts: EngineOptions,
    private readonly modules: EngineModules = {},
  ) {
    this.signer = opts.jwtSecret === undefined ? null : new JwtSigner(opts.jwtSecret);
  }

  async exchangeCapabilities(opts?: CallOptions): Promise<string[]> {
    const method = 'engine_exchangeCapabilities';
    const raw = await this.engine(method, [[...BATON_ENGINE_METHODS]], this.opts.timeouts.exchangeCapabilitiesMs, opts);
    if (!isStringArray(raw)) throw parseError(method, raw);
    return raw;
  }

  forkchoiceUpdatedV3(state: ForkchoiceStateV1, attributes?: PayloadAttributesV3 | null, opts?: CallOptions): Promise<ForkchoiceUpdatedResponse> {
    const method = 'engine_forkchoiceUpdatedV3';
    return this.serialised(async () => {
      const raw = await this.engine(method, [state, attributes ?? null], this.opts.timeouts.forkchoiceUpdatedMs, opts);
      if (!isObject(raw)) throw parseError(method, raw);
      const payloadId = raw.payloadId ?? null;
      if (payloadId !== null && typeof payloadId !== 'string') throw parseError(method, raw);
      return { payloadStatus: toPayloadStatus(method, raw.payloadStatus), payloadId };
    });
  }

  async getPayloadV4(payloadId: Data, opts?: CallOptions): Promise<GetPayloadV4Response> {
    const method = 'engine_getPayloadV4';
    const raw = await this.engine(method, [payloadId], this.opts.timeouts.getPayloadMs, opts);
    if (
      !isObject(raw) ||
      !isExecutionPayload(raw.executionPayload) ||
      !isStringArray(raw.executionRequests) ||
      typeof raw.blockValue !== 'string' ||
      !isObject(raw.blobsBundle)
    ) {
      throw parseError(method, raw);
    }
    return {
      executionPayload: raw.executionPayload,
      blockValue: raw.blockValue,
      blobsBundle: raw.blobsBundle as unknown as GetPayloadV4Response['blobsBundle'],
      shouldOverrideBuilder: raw.shouldOverrideBuilder === true,
      executionRequests: raw.executionRequests,
    };
  }

  newPayloadV4(
    payload: ExecutionPayloadV3,
    versionedHashes: Data[],
    parentBeaconBlockRoot: Data,
    executionRequests: Data[],
    opts?: CallOptions,
  ): Promise<PayloadStatusV1> {
    const method = 'engine_newPayloadV4';
    const params = [payload, versionedHashes, parentBeaconBlockRoot, executionRequests];
    return this.serialised(async () => toPayloadStatus(method, await this.engine(method, params, this.opts.timeouts.newPayloadMs, opts)));
  }

  async getBlockByNumber(block: BlockTag | bigint | number, opts?: CallOptions): Promise<ElBlock | null> {
    const method = 'eth_getBlockByNumber';
    const tag = typeof block === 'string' ? block : `0x${block.toString(16)}`;
    const raw = await this.eth(method, [tag, false], opts);
    if (raw === null) return null;
    if (!isObject(raw) || !allStrings(raw, ['number', 'hash', 'parentHash', 'timestamp'])) throw parseError(method, raw);
    const found: ElBlock = { number: BigInt(raw.number), hash: raw.hash, parentHash: raw.parentHash, timestamp: BigInt(raw.timestamp) };
    if (typeof raw.baseFeePerGas === 'string' && QUANTITY.test(raw.baseFeePerGas)) found.baseFeePerGas = BigInt(raw.baseFeePerGas);
    return found;
  }

  async chainId(opts?: CallOptions): Promise<bigint> {
    const raw = await this.eth('eth_chainId', [], opts);
    if (typeof raw !== 'string' || !QUANTITY.test(raw)) throw parseError('eth_chainId', raw);
    return BigInt(raw);
  }

  async getTransactionCount(address: Data, block: BlockTag, opts?: CallOptions): Promise<bigint> {
    const raw = await this.eth('eth_getTransactionCount', [address, block], opts);
    if (typeof raw !== 'string' || !QUANTITY.test(raw)) throw parseError('eth_getTransactionCount', raw);
    return BigInt(raw);
  }

  async sendRawTransaction(rawTx: Data, opts?: CallOptions): Promise<Data> {
    const raw = await this.eth('eth_sendRawTransaction', [rawTx], opts);
    if (typeof raw !== 'string') throw parseError('eth_sendRawTransaction', raw);
    return raw;
  }

  async getTransactionReceipt(txHash: Data, opts?: CallOptions): Promise<TransactionReceipt | null> {
    const method = 'eth_getTransactionReceipt';
    const raw = await this.eth(method, [txHash], opts);
    if (raw === null) return null;
    if (!isObject(raw) || !allStrings(raw, ['transactionHash', 'blockHash', 'blockNumber', 'status', 'gasUsed', 'from'])) {
      throw parseError(method, raw);
    }
    const { transactionHash, blockHash, blockNumber, status, gasUsed, from } = raw;
    return { transactionHash, blockHash, blockNumber, status, gasUsed, from, to: typeof raw.to === 'string' ? raw.to : null };
  }

  private engine(method: string, params: unknown[], timeoutMs: number, opts?: CallOptions): Promise<unknown> {
    const signals = [this.modules.signal, opts?.signal];
    return this.rpc.call({ url: this.opts.url, method, params, timeoutMs, signer: this.signer, signals });
  }

  /** `eth_` calls go to the plain RPC port when known; that port takes no JWT. */
  private eth(method: string, params: unknown[], opts?: CallOptions): Promise<unknown> {
    const url = this.opts.rpcUrl ?? this.opts.url;
    const signer = this.opts.rpcUrl === undefined ? this.signer : null;
    const signals = [this.modules.signal, opts?.signal];
    return this.rpc.call({ url, method, params, timeoutMs: this.opts.timeouts.ethMs, signer, signals });
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serialTail.then(fn);
    this.serialTail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

function toPayloadStatus(method: string, raw: unknown): PayloadStatusV1 {
  if (!isObject(raw) || !PAYLOAD_STATUSES.includes(raw.status as PayloadStatus)) throw parseError(method, raw);
  const latestValidHash = typeof raw.latestValidHash === 'string' ? raw.latestValidHash : null;
  const validationError = typeof raw.validationError === 'string' ? raw.validationError : null;
  return { status: raw.status as PayloadStatus, latestValidHash, validationError };
}

/** A JSON-RPC quantity: 0x-prefixed hex. */
const QUANTITY = /^0x[0-9a-f]+$/i;

const PAYLOAD_STRING_FIELDS = [
  'parentHash',
  'feeRecipient',
  'stateRoot',
  'receiptsRoot',
  'logsBloom',
  'prevRandao',
  'blockNumber',
  'gasLimit',
  'gasUsed',
  'timestamp',
  'extraData',
  'baseFeePerGas',
  'blockHash',
  'blobGasUsed',
  'excessBlobGas',
] as const;

function isExecutionPayload(v: unknown): v is ExecutionPayloadV3 {
  return isObject(v) && allStrings(v, PAYLOAD_STRING_FIELDS) && isStringArray(v.transactions) && Array.isArray(v.withdrawals);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function allStrings<K extends string>(o: Record<string, unknown>, keys: readonly K[]): o is Record<string, unknown> & Record<K, string> {
  return keys.every((k) => typeof o[k] === 'string');
}

function parseError(method: string, raw: unknown): EngineError {
  const text = JSON.stringify(raw) ?? String(raw);
  return new EngineError(EngineErrorCode.PARSE, `${method}: unexpected result: ${text.slice(0, 300)}`, { method });
}
