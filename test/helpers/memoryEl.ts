/**
 * An execution client in memory: a fake of the `EngineApi` port (no HTTP, no process), for actor
 * tests and, behind `bench/replayEl.ts`'s HTTP server, for the benches.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EngineError, EngineErrorCode } from '../../src/adapters/engine/errors.js';
import type { BlockTag, CallOptions, EngineApi } from '../../src/adapters/engine/interface.js';
import { encodeBlock } from '../../src/tasks/encodeBlock.js';
import { keccak256 } from '../../src/tasks/keccak256.js';
import { verifyPayload } from '../../src/tasks/verifyPayload.js';
import type { EncodedBlock } from '../../src/types/block.js';
import type {
  Data,
  ElBlock,
  ExecutionPayloadV3,
  ForkchoiceStateV1,
  ForkchoiceUpdatedResponse,
  GetPayloadV4Response,
  PayloadAttributesV3,
  PayloadStatus,
  PayloadStatusV1,
  TransactionReceipt,
} from '../../src/types/engine.js';
import { type FaultArming, FaultPlan, withFault } from './faultPlan.js';

/** What every built block copies besides its header links: a recorded `getPayloadV4` answer (`bench/fixtures/payloads/*.json`), or an empty block. */
export interface PayloadTemplate {
  executionPayload: ExecutionPayloadV3;
  executionRequests: Data[];
  /** The recorded attributes' value; what `produce` sends (the Builder sends zeros). */
  parentBeaconBlockRoot?: Data;
}

/** A fixture file of `bench/fixtures/record.ts` as a template. */
export function loadTemplate(path: string): PayloadTemplate {
  return JSON.parse(readFileSync(path, 'utf8')) as PayloadTemplate;
}

export interface MemoryElOptions {
  /** Default: an empty block (no transactions, withdrawals or requests) with plausible roots and gas. */
  template?: PayloadTemplate;
  /**
   * `header` (default): every block hash is the real one (keccak of the RLP header, what the
   * Executor's verification recomputes), and `newPayloadV4` answers INVALID to a payload whose hash
   * is not. `cheap`: a sha256 of the block's number and parent, checked by nobody: for a bench,
   * where recomputing a 1,400-transaction header (~15 ms) would be the EL's time, not Baton's.
   */
  blockHash?: 'header' | 'cheap';
  /** Default 31337 (0x7a69), the dev chain of the embedded EL and the fixtures. */
  chainId?: bigint;
}

/** The methods of the port, by which faults are armed and calls are logged. */
export type EngineMethod = keyof EngineApi;

/** One call as the fake saw it. */
export interface ElCall {
  method: EngineMethod;
  /** `performance.now()` when the call arrived. */
  at: number;
  /** A forkchoiceUpdated with payload attributes: the start of a build. */
  building?: boolean;
  /** The block a newPayload carried. */
  block?: { number: bigint; hash: Data };
  /** `ok`, a payload status the fake answered, `failed` (an armed failure or a refusal), `hung`, then `aborted` when its signal fired. */
  outcome: 'pending' | 'ok' | 'failed' | 'hung' | 'aborted' | PayloadStatus;
}

/** What the fake keeps of a block: what `eth_getBlockByNumber` answers, and the submitted transactions it included. */
interface ChainBlock extends ElBlock {
  txHashes: Data[];
}

/** The genesis every `MemoryEl` starts from, so two of them (a leader's and a member's) share a chain. */
export const GENESIS: ElBlock = {
  number: 0n,
  hash: `0x${createHash('sha256').update('genesis').digest('hex')}`,
  parentHash: `0x${'00'.repeat(32)}`,
  // Far enough in the past that a Builder's wall-clock timestamps always exceed it.
  timestamp: 1_700_000_000n,
};

const ZERO_HASH: Data = `0x${'00'.repeat(32)}`;
const ZERO_ADDRESS: Data = `0x${'00'.repeat(20)}`;
/** Payload ids a real EL keeps answering getPayload for: the last few builds. */
const KEPT_BUILDS = 16;
/** A plain transfer's gas: what the receipts of submitted transactions report. */
const TRANSFER_GAS = '0x5208';

/** An empty Prague block: the roots of nothing, zero gas used, no requests. */
const EMPTY_TEMPLATE: PayloadTemplate = {
  executionPayload: {
    parentHash: ZERO_HASH,
    feeRecipient: ZERO_ADDRESS,
    stateRoot: `0x${'11'.repeat(32)}`,
    // keccak(RLP('')): the root of an empty trie.
    receiptsRoot: '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421',
    logsBloom: `0x${'00'.repeat(256)}`,
    prevRandao: ZERO_HASH,
    blockNumber: '0x0',
    gasLimit: '0x1c9c380',
    gasUsed: '0x0',
    timestamp: '0x0',
    extraData: '0x',
    baseFeePerGas: '0x7',
    blockHash: ZERO_HASH,
    transactions: [],
    withdrawals: [],
    blobGasUsed: '0x0',
    excessBlobGas: '0x0',
  },
  executionRequests: [],
};

/**
 * An EL that executes nothing and answers like one that executes everything: it keeps a chain
 * (blocks by hash, the canonical chain by number from its head), `forkchoiceUpdatedV3` moves the
 * head (SYNCING for a head it does not know) and with attributes starts a build, `getPayloadV4`
 * fills the template on that build's parent with the attributes' timestamp, randao, fee recipient
 * and withdrawals plus the transactions sent to it, and `newPayloadV4` records a block whose parent
 * it has (VALID; SYNCING without the parent). Submitted transactions get receipts once a block
 * that includes them is canonical.
 *
 * Fault controls for tests: `failNext`, `hangNext` (the call answers only by rejecting when its
 * `AbortSignal` fires) and `answerNext` (a payload status) take the next calls of a method;
 * `calls` logs every call with its outcome.
 */
export class MemoryEl implements EngineApi {
  /** The default template, for a test that wants a variant of it. */
  static readonly emptyTemplate = EMPTY_TEMPLATE;
  private readonly template: PayloadTemplate;
  private readonly hashing: 'header' | 'cheap';
  private readonly chainIdValue: bigint;
  private readonly blocks = new Map<Data, ChainBlock>();
  /** Canonical hash by number: the chain from the head back to genesis. */
  private readonly canonical = new Map<bigint, Data>();
  private headHash: Data = GENESIS.hash;
  private readonly builds = new Map<Data, { parent: ChainBlock; attributes: PayloadAttributesV3 }>();
  private nextPayloadId = 1n;
  /** Submitted transactions not yet in a recorded block, raw → hash, in arrival order. */
  private readonly txpool = new Map<Data, Data>();
  /** Submitted transactions by hash → the block hash that included them. */
  private readonly included = new Map<Data, Data>();
  private readonly faults = new FaultPlan<EngineMethod>();
  readonly calls: ElCall[] = [];

  constructor(opts: MemoryElOptions = {}) {
    this.template = opts.template ?? EMPTY_TEMPLATE;
    this.hashing = opts.blockHash ?? 'header';
    this.chainIdValue = opts.chainId ?? 31337n;
    this.blocks.set(GENESIS.hash, { ...GENESIS, txHashes: [] });
    this.canonical.set(0n, GENESIS.hash);
  }

  /** Transactions of the template, in every built block. */
  get templateTxCount(): number {
    return this.template.executionPayload.transactions.length;
  }

  /** The canonical head, as `eth_getBlockByNumber('latest')` answers it. */
  get head(): ElBlock {
    return toElBlock(this.blocks.get(this.headHash)!);
  }

  /** The next `times` calls of `method` (those `match` accepts) throw an `EngineError` with `code` (default: unreachable). */
  failNext<M extends EngineMethod>(method: M, opts: FaultArming<Parameters<EngineApi[M]>> & { code?: EngineErrorCode } = {}): void {
    const code = opts.code ?? EngineErrorCode.UNREACHABLE;
    this.faults.arm(method, { kind: 'fail', error: () => new EngineError(code, `memory EL: injected ${code} in ${method}`, { method }) }, opts);
  }

  /** The next `times` calls of `method` never answer: each rejects with ENGINE_ABORTED when its signal fires. */
  hangNext<M extends EngineMethod>(method: M, opts: FaultArming<Parameters<EngineApi[M]>> = {}): void {
    this.faults.arm(
      method,
      { kind: 'hang', aborted: () => new EngineError(EngineErrorCode.ABORTED, `memory EL: ${method} aborted by its caller`, { method }) },
      opts,
    );
  }

  /** The next `times` calls of `method` answer `status` (SYNCING, INVALID, …) and change nothing. */
  answerNext(method: 'newPayloadV4' | 'forkchoiceUpdatedV3', status: PayloadStatus, opts: FaultArming & { validationError?: string } = {}): void {
    const payloadStatus: PayloadStatusV1 = {
      status,
      latestValidHash: status === 'VALID' ? this.headHash : null,
      validationError: opts.validationError ?? (status.startsWith('INVALID') ? 'memory EL: injected' : null),
    };
    this.faults.arm(method, { kind: 'answer', value: method === 'newPayloadV4' ? payloadStatus : { payloadStatus, payloadId: null } }, opts);
  }

  clearFaults(method?: EngineMethod): void {
    this.faults.clear(method);
  }

  /** The calls of one method, in order. */
  callsOf(method: EngineMethod): ElCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /**
   * Builds `count` blocks on the head the way a leader does (forkchoiceUpdated with attributes,
   * getPayload, newPayload, forkchoiceUpdated to the new head) and returns them as the Builder
   * encodes them: a committed chain to seed a store, or blocks for an Executor.
   */
  async produce(count: number): Promise<EncodedBlock[]> {
    const blocks: EncodedBlock[] = [];
    const parentBeaconBlockRoot = this.template.parentBeaconBlockRoot ?? ZERO_HASH;
    for (let i = 0; i < count; i++) {
      const parent = this.head;
      const attributes: PayloadAttributesV3 = {
        timestamp: quantity(parent.timestamp + 1n),
        prevRandao: parent.hash,
        suggestedFeeRecipient: ZERO_ADDRESS,
        withdrawals: [],
        parentBeaconBlockRoot,
      };
      const { payloadId } = await this.forkchoiceUpdatedV3(forkchoice(parent.hash), attributes);
      const built = await this.getPayloadV4(payloadId!);
      const { executionPayload: p, executionRequests } = built;
      const status = await this.newPayloadV4(p, [], parentBeaconBlockRoot, executionRequests);
      if (status.status !== 'VALID') throw new Error(`memory EL: its own block ${p.blockNumber} is ${status.status}: ${status.validationError}`);
      await this.forkchoiceUpdatedV3(forkchoice(p.blockHash));
      blocks.push(encodeBlock({ executionPayload: p, blobCommitments: [], parentBeaconBlockRoot, executionRequests }));
    }
    return blocks;
  }

  exchangeCapabilities(opts?: CallOptions): Promise<string[]> {
    return this.serve('exchangeCapabilities', [opts], opts, () => ['engine_forkchoiceUpdatedV3', 'engine_getPayloadV4', 'engine_newPayloadV4']);
  }

  forkchoiceUpdatedV3(state: ForkchoiceStateV1, attributes?: PayloadAttributesV3 | null, opts?: CallOptions): Promise<ForkchoiceUpdatedResponse> {
    return this.serve(
      'forkchoiceUpdatedV3',
      [state, attributes, opts],
      opts,
      () => {
        const head = this.blocks.get(state.headBlockHash.toLowerCase());
        if (!head) return { payloadStatus: { status: 'SYNCING', latestValidHash: null, validationError: null }, payloadId: null };
        this.setHead(head);
        let payloadId: Data | null = null;
        if (attributes) {
          if (BigInt(attributes.timestamp) <= head.timestamp) {
            throw new EngineError(EngineErrorCode.INVALID_PAYLOAD_ATTRIBUTES, `timestamp ${attributes.timestamp} is not after the head's ${head.timestamp}`, {
              method: 'forkchoiceUpdatedV3',
            });
          }
          payloadId = `0x${(this.nextPayloadId++).toString(16).padStart(16, '0')}`;
          this.builds.set(payloadId, { parent: head, attributes });
          if (this.builds.size > KEPT_BUILDS) this.builds.delete(this.builds.keys().next().value!);
        }
        return { payloadStatus: { status: 'VALID', latestValidHash: head.hash, validationError: null }, payloadId };
      },
      { building: attributes != null },
    );
  }

  getPayloadV4(payloadId: Data, opts?: CallOptions): Promise<GetPayloadV4Response> {
    return this.serve('getPayloadV4', [payloadId, opts], opts, () => {
      const build = this.builds.get(payloadId);
      if (!build) throw new EngineError(EngineErrorCode.UNKNOWN_PAYLOAD, `unknown payload ${payloadId}`, { method: 'getPayloadV4' });
      const { parent, attributes } = build;
      const number = parent.number + 1n;
      const executionPayload: ExecutionPayloadV3 = {
        ...this.template.executionPayload,
        parentHash: parent.hash,
        blockNumber: quantity(number),
        timestamp: attributes.timestamp,
        prevRandao: attributes.prevRandao,
        feeRecipient: attributes.suggestedFeeRecipient,
        withdrawals: attributes.withdrawals,
        transactions: this.txpool.size ? [...this.template.executionPayload.transactions, ...this.txpool.keys()] : this.template.executionPayload.transactions,
        blockHash: ZERO_HASH,
      };
      executionPayload.blockHash = this.hashOf(executionPayload, attributes.parentBeaconBlockRoot, this.template.executionRequests);
      return {
        executionPayload,
        blockValue: '0x0',
        blobsBundle: { commitments: [], proofs: [], blobs: [] },
        shouldOverrideBuilder: false,
        executionRequests: this.template.executionRequests,
      };
    });
  }

  newPayloadV4(
    payload: ExecutionPayloadV3,
    versionedHashes: Data[],
    parentBeaconBlockRoot: Data,
    executionRequests: Data[],
    opts?: CallOptions,
  ): Promise<PayloadStatusV1> {
    return this.serve(
      'newPayloadV4',
      [payload, versionedHashes, parentBeaconBlockRoot, executionRequests, opts],
      opts,
      (): PayloadStatusV1 => {
        const hash = payload.blockHash.toLowerCase();
        const parent = this.blocks.get(payload.parentHash.toLowerCase());
        if (!parent) return { status: 'SYNCING', latestValidHash: null, validationError: null };
        const invalid = (why: string): PayloadStatusV1 => ({ status: 'INVALID', latestValidHash: parent.hash, validationError: why });
        if (BigInt(payload.blockNumber) !== parent.number + 1n) return invalid(`block ${payload.blockNumber} on parent ${parent.number}`);
        if (this.hashing === 'header' && this.hashOf(payload, parentBeaconBlockRoot, executionRequests) !== hash)
          return { status: 'INVALID', latestValidHash: null, validationError: 'block hash mismatch' };
        if (!this.blocks.has(hash)) {
          const txHashes: Data[] = [];
          if (this.txpool.size) {
            for (const raw of payload.transactions) {
              const txHash = this.txpool.get(raw);
              if (txHash === undefined) continue;
              this.txpool.delete(raw);
              this.included.set(txHash, hash);
              txHashes.push(txHash);
            }
          }
          this.blocks.set(hash, { number: parent.number + 1n, hash, parentHash: parent.hash, timestamp: BigInt(payload.timestamp), txHashes });
        }
        return { status: 'VALID', latestValidHash: hash, validationError: null };
      },
      { block: { number: BigInt(payload.blockNumber), hash: payload.blockHash.toLowerCase() } },
    );
  }

  getBlockByNumber(block: BlockTag | bigint | number, opts?: CallOptions): Promise<ElBlock | null> {
    return this.serve('getBlockByNumber', [block, opts], opts, () => {
      const hash = typeof block === 'string' ? (block === 'earliest' ? GENESIS.hash : this.headHash) : this.canonical.get(BigInt(block));
      const found = hash === undefined ? undefined : this.blocks.get(hash);
      return found ? toElBlock(found) : null;
    });
  }

  chainId(opts?: CallOptions): Promise<bigint> {
    return this.serve('chainId', [opts], opts, () => this.chainIdValue);
  }

  sendRawTransaction(rawTx: Data, opts?: CallOptions): Promise<Data> {
    return this.serve('sendRawTransaction', [rawTx, opts], opts, () => {
      const raw = rawTx.toLowerCase();
      const hash = `0x${Buffer.from(keccak256(Buffer.from(raw.slice(2), 'hex'))).toString('hex')}`;
      if (this.txpool.has(raw) || this.included.has(hash))
        throw new EngineError(EngineErrorCode.RPC, 'already known', { method: 'sendRawTransaction', rpcCode: -32000 });
      this.txpool.set(raw, hash);
      return hash;
    });
  }

  /** What `getTransactionCount` answers for an address (lower case); 0 for any other. The fake keeps no accounts: tests set it. */
  readonly nonces = new Map<string, bigint>();

  getTransactionCount(address: Data, _block: BlockTag, opts?: CallOptions): Promise<bigint> {
    return this.serve('getTransactionCount', [address, _block, opts], opts, () => this.nonces.get(address.toLowerCase()) ?? 0n);
  }

  getTransactionReceipt(txHash: Data, opts?: CallOptions): Promise<TransactionReceipt | null> {
    return this.serve('getTransactionReceipt', [txHash, opts], opts, () => {
      const blockHash = this.included.get(txHash.toLowerCase());
      const block = blockHash === undefined ? undefined : this.blocks.get(blockHash);
      if (!block || this.canonical.get(block.number) !== block.hash) return null;
      return {
        transactionHash: txHash.toLowerCase(),
        blockHash: block.hash,
        blockNumber: quantity(block.number),
        status: '0x1',
        gasUsed: TRANSFER_GAS,
        from: ZERO_ADDRESS,
        to: null,
      };
    });
  }

  /** One call: logged, then the armed fault or the method's own answer. */
  private async serve<T>(
    method: EngineMethod,
    args: unknown[],
    opts: CallOptions | undefined,
    normal: () => T,
    detail: Pick<ElCall, 'building' | 'block'> = {},
  ): Promise<T> {
    const call: ElCall = { method, at: performance.now(), outcome: 'pending', ...detail };
    this.calls.push(call);
    if (opts?.signal?.aborted) {
      call.outcome = 'aborted';
      throw new EngineError(EngineErrorCode.ABORTED, `memory EL: ${method} called with an aborted signal`, { method });
    }
    const fault = this.faults.take(method, args);
    if (fault?.kind === 'hang') call.outcome = 'hung';
    try {
      const result = await withFault(fault, opts?.signal, normal);
      const status = statusOf(result);
      call.outcome = status && status !== 'VALID' ? status : 'ok';
      return result;
    } catch (err) {
      call.outcome = (err as EngineError).code === EngineErrorCode.ABORTED ? 'aborted' : 'failed';
      throw err;
    }
  }

  /** Moves the head to `block`: the canonical chain is rebuilt back to where it meets the old one. */
  private setHead(block: ChainBlock): void {
    for (let n = block.number + 1n; this.canonical.delete(n); n++);
    for (let b: ChainBlock | undefined = block; b && this.canonical.get(b.number) !== b.hash; b = this.blocks.get(b.parentHash))
      this.canonical.set(b.number, b.hash);
    this.headHash = block.hash;
  }

  private hashOf(payload: ExecutionPayloadV3, parentBeaconBlockRoot: Data, executionRequests: Data[]): Data {
    if (this.hashing === 'cheap')
      return `0x${createHash('sha256').update(`block ${payload.blockNumber} on ${payload.parentHash.toLowerCase()} at ${payload.timestamp}`).digest('hex')}`;
    return verifyPayload(encodeBlock({ executionPayload: payload, blobCommitments: [], parentBeaconBlockRoot, executionRequests })).computedHash;
  }
}

/** The payload status in a newPayload or forkchoiceUpdated answer, if `result` is one. */
function statusOf(result: unknown): PayloadStatus | undefined {
  const r = result as Partial<PayloadStatusV1 & ForkchoiceUpdatedResponse> | null;
  return typeof r === 'object' && r !== null ? (r.status ?? r.payloadStatus?.status) : undefined;
}

function toElBlock(b: ChainBlock): ElBlock {
  return { number: b.number, hash: b.hash, parentHash: b.parentHash, timestamp: b.timestamp };
}

function forkchoice(hash: Data): ForkchoiceStateV1 {
  return { headBlockHash: hash, safeBlockHash: hash, finalizedBlockHash: hash };
}

function quantity(n: bigint): Data {
  return `0x${n.toString(16)}`;
}
