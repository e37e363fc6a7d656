/**
 * The Engine API's JSON shapes, as every layer passes them around (execution-apis
 * `src/engine/{paris,shanghai,cancun,prague}.md`).
 *
 * Values stay as the EL sends them (hex strings): payloads are stored, hashed and forwarded to
 * other ELs byte-for-byte, so decoding them would only add a lossy round trip.
 */

/** `DATA`: 0x-prefixed hex bytes, even length. */
export type Data = string;
/** `QUANTITY`: 0x-prefixed hex integer without leading zeros. */
export type Quantity = string;

/** WithdrawalV1 (Shanghai). `amount` is in Gwei. */
export interface WithdrawalV1 {
  index: Quantity;
  validatorIndex: Quantity;
  address: Data;
  amount: Quantity;
}

/** ExecutionPayloadV3 (Cancun; also the payload of Prague's `newPayloadV4`/`getPayloadV4`). */
export interface ExecutionPayloadV3 {
  parentHash: Data;
  feeRecipient: Data;
  stateRoot: Data;
  receiptsRoot: Data;
  logsBloom: Data;
  prevRandao: Data;
  blockNumber: Quantity;
  gasLimit: Quantity;
  gasUsed: Quantity;
  timestamp: Quantity;
  extraData: Data;
  baseFeePerGas: Quantity;
  blockHash: Data;
  /** Opaque EIP-2718 encoded transactions. */
  transactions: Data[];
  withdrawals: WithdrawalV1[];
  blobGasUsed: Quantity;
  excessBlobGas: Quantity;
}

/** PayloadAttributesV3: what a `forkchoiceUpdatedV3` asks the EL to build on top of the head. */
export interface PayloadAttributesV3 {
  /** Must be greater than the parent's timestamp. */
  timestamp: Quantity;
  prevRandao: Data;
  suggestedFeeRecipient: Data;
  withdrawals: WithdrawalV1[];
  /** 32 bytes; Baton has no beacon chain, any fixed or derived value works if members agree. */
  parentBeaconBlockRoot: Data;
}

/** ForkchoiceStateV1. Baton's finality is its commit, so all three usually carry the same hash. */
export interface ForkchoiceStateV1 {
  headBlockHash: Data;
  safeBlockHash: Data;
  finalizedBlockHash: Data;
}

/**
 * Every status a `PayloadStatusV1` may carry; the caller decides what each one means for it.
 * Since Shanghai (V2+) a block-hash mismatch is reported as INVALID with a null latestValidHash;
 * INVALID_BLOCK_HASH is kept because older or lenient ELs still send it.
 */
export type PayloadStatus = 'VALID' | 'INVALID' | 'SYNCING' | 'ACCEPTED' | 'INVALID_BLOCK_HASH';

export const PAYLOAD_STATUSES: readonly PayloadStatus[] = ['VALID', 'INVALID', 'SYNCING', 'ACCEPTED', 'INVALID_BLOCK_HASH'];

/** PayloadStatusV1. */
export interface PayloadStatusV1 {
  status: PayloadStatus;
  latestValidHash: Data | null;
  validationError: string | null;
}

/** Result of `engine_forkchoiceUpdatedV3`; `payloadId` is set only when a build was started. */
export interface ForkchoiceUpdatedResponse {
  payloadStatus: PayloadStatusV1;
  payloadId: Data | null;
}

/** BlobsBundleV1 (Cancun). Empty in Baton's blob-less chains but part of the response. */
export interface BlobsBundleV1 {
  commitments: Data[];
  proofs: Data[];
  blobs: Data[];
}

/** Result of `engine_getPayloadV4` (Prague). */
export interface GetPayloadV4Response {
  executionPayload: ExecutionPayloadV3;
  blockValue: Quantity;
  blobsBundle: BlobsBundleV1;
  shouldOverrideBuilder: boolean;
  /** EIP-7685 requests, `type ++ data` per element, ascending type, empty data omitted. */
  executionRequests: Data[];
}

/** A block as the EL reports it (`eth_getBlockByNumber`): the fields heads are compared by, plus the timestamp builds must exceed. */
export interface ElBlock {
  number: bigint;
  hash: Data;
  parentHash: Data;
  timestamp: bigint;
  /** EIP-1559's base fee; absent before London (and from an EL that omits it). */
  baseFeePerGas?: bigint;
}

/** The subset of a receipt the mempool watcher and the tests read. */
export interface TransactionReceipt {
  transactionHash: Data;
  blockHash: Data;
  blockNumber: Quantity;
  /** `0x1` success, `0x0` reverted. */
  status: Quantity;
  gasUsed: Quantity;
  from: Data;
  to: Data | null;
}
