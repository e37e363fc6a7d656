/**
 * The shared mempool port (DESIGN §2.6–2.7): every node adds, the leader's Builder takes batches,
 * and only the holder of the watcher lock confirms and drops. Each operation is atomic (one Lua
 * script in the Redis implementation). Hashes and raw transactions are 0x-prefixed hex; the
 * implementation lower-cases hashes.
 */
import type { MempoolSizes } from '../../types/mempool.js';

/**
 * Where a transaction is in its life: submission → pending → inflight → finalized, or dropped; a
 * pending one whose sender has a nonce gap before it waits in queued until the gap is filled.
 */
export type TxStatus =
  | { status: 'pending' }
  /** Behind a nonce gap of its sender (`reason` says which nonce is missing): not resubmitted until it is filled; expires after the lifetime. */
  | { status: 'queued'; reason: string }
  /** Taken by the leader of `epoch` and submitted to its EL; not yet in a confirmed block. */
  | { status: 'inflight'; epoch: bigint }
  | { status: 'finalized'; blockNumber: bigint }
  /** It can never be included (nonce already used, fee below the base fee, insufficient funds, expired while queued, …). Re-submitting it re-admits it. */
  | { status: 'dropped'; reason: string }
  /** Never seen, or trimmed out of `finalized`/`dropped`. */
  | { status: 'unknown' };

/** A transaction as the Builder submits it to its EL. */
export interface MempoolTx {
  hash: string;
  /** The EIP-2718 envelope, as `eth_sendRawTransaction` takes it. */
  raw: string;
}

export interface InflightTx extends MempoolTx {
  /** The epoch of the leader that took it. */
  epoch: bigint;
  /** Confirmed blocks it has been missing from since it was taken. */
  missing: number;
}

/** Who sent a transaction, from its recovered signature: what the `pending` nonce of a sender counts. */
export interface TxSender {
  /** 0x-prefixed address. */
  from: string;
  nonce: bigint;
}

export type AddResult = { added: true } | { added: false; current: TxStatus };

/** What `queue` did: `notFound` when the transaction is no longer pending (taken into a batch or gone meanwhile). */
export type QueueResult = 'queued' | 'dropped' | 'notFound' | 'notWatcher';

export interface ConfirmBlock {
  blockNumber: bigint;
  /** Hashes of every transaction in the block; those the mempool does not hold are ignored. */
  txHashes: string[];
  /** The watcher lock's token (`watcherLockToken`): the script confirms only while it is the live one. */
  lockToken: string;
}

export type ConfirmResult =
  /** Block confirmed: `finalized` of ours were in it, `requeued` went back to pending (raw kept for an EL check). */
  | { status: 'confirmed'; finalized: number; requeued: MempoolTx[] }
  /** `blockNumber` ≤ the last confirmed block: a replay, nothing changed. */
  | { status: 'already'; lastConfirmed: bigint }
  /** `blockNumber` > last confirmed + 1: confirm the blocks in between first; nothing changed. */
  | { status: 'gap'; lastConfirmed: bigint }
  /** The lock is not held by this token (expired, or another watcher's): nothing changed. */
  | { status: 'notWatcher' };

export type DropResult = 'dropped' | 'notFound' | 'notWatcher';

export interface Mempool {
  /**
   * Adds a decoded, valid transaction to `pending`, unless it is already held or finalized (then
   * `added: false` with where it is). A dropped one is re-admitted. Throws MEMPOOL_FULL at
   * `maxPending`, SENDER_FULL when its sender already has `maxPerSender` held. It fills a nonce
   * gap: its sender's queued transactions right after it go back to pending.
   */
  add(tx: MempoolTx, sender?: TxSender): Promise<AddResult>;
  /** The nonces of `from`'s held (pending, queued or inflight) transactions, ascending; only those added with a sender. */
  senderNonces(from: string): Promise<bigint[]>;
  /** The raw transaction while it is held (pending, queued or inflight), else null. */
  heldRaw(hash: string): Promise<string | null>;
  /**
   * Moves up to `max` pending transactions, oldest first, to `inflight` tagged with `epoch`.
   * Throws STALE_EPOCH if the leader fence is above `epoch`: a deposed leader gets nothing.
   */
  takeBatch(max: number, epoch: bigint): Promise<MempoolTx[]>;
  /** Everything inflight, oldest first: what a new leader resubmits to its own EL on taking over. */
  inflight(): Promise<InflightTx[]>;
  /**
   * Confirms one committed block, exactly once and strictly in order, guarded by the watcher lock:
   * included transactions → finalized, other inflight ones count one more miss and return to
   * pending past `maxNonConfirmations`, finalized/dropped are trimmed, the last confirmed block
   * number advances — all in one atomic step. The first block ever confirmed starts the sequence.
   */
  confirmBlock(block: ConfirmBlock): Promise<ConfirmResult>;
  /** Moves a held transaction to `dropped` with `reason`, guarded by the watcher lock. */
  drop(hash: string, reason: string, lockToken: string): Promise<DropResult>;
  /**
   * Moves a pending transaction to `queued` with `reason` (its nonce gap), guarded by the watcher
   * lock; with `maxQueued` already queued it is dropped instead.
   */
  queue(hash: string, reason: string, lockToken: string): Promise<QueueResult>;
  /** Drops queued transactions older than the lifetime, guarded by the watcher lock: how many, or null when not the watcher. */
  expireQueued(lockToken: string): Promise<number | null>;
  status(hash: string): Promise<TxStatus>;
  /** The last block confirmed, or null before the first confirmation. */
  lastConfirmed(): Promise<bigint | null>;
  sizes(): Promise<MempoolSizes>;
}
