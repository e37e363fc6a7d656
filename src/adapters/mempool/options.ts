/** Options of the shared Redis mempool (DESIGN §2.6–2.7, keys of §5). */
export interface MempoolOptions {
  /** Key prefix (`--redis-prefix`); every key is `<prefix>:mempool:*`, the leader fence is `<prefix>:epoch`. */
  prefix?: string;
  /**
   * Bound of `pending` (`--mempool-max-pending`). Past it `add` refuses with MEMPOOL_FULL: a full
   * pool says no rather than evict, so nothing accepted is ever silently lost.
   */
  maxPending?: number;
  /**
   * Confirmed blocks an inflight transaction may be missing from before it goes back to `pending`
   * (`--mempool-max-non-confirmations`). Covers a leader that died after taking a batch and blocks
   * too full to include everything at once.
   */
  maxNonConfirmations?: number;
  /** Bound of `finalized`, and separately of `dropped` (`--mempool-max-finalized`); the oldest go first. */
  maxFinalized?: number;
  /**
   * Bound of one sender's held (pending, queued, inflight) transactions (`--mempool-max-per-sender`):
   * past it `add` refuses with SENDER_FULL, so one key cannot fill the pool.
   */
  maxPerSender?: number;
  /**
   * Bound of `queued` (`--mempool-max-queued`): a transaction found behind a nonce gap while this
   * many wait is dropped, as Geth evicts past its global queue, so gaps cannot grow the pool.
   */
  maxQueued?: number;
  /** How long a transaction may wait in `queued` before it is dropped (`--mempool-lifetime`, Geth's `txpool.lifetime`). */
  lifetimeMs?: number;
}

export const defaultMempoolOptions = {
  prefix: 'consensus',
  /** ~30 MB of Redis at ~300 bytes per transaction: minutes of backlog at the ingest budget (3,000 tx/s). */
  maxPending: 100_000,
  /** About 10 block times: a batch the leader submitted is in one of the next blocks unless blocks are full. */
  maxNonConfirmations: 10,
  /** The seed's default: enough for clients to poll status well after finality. */
  maxFinalized: 10_000,
  /** Ten blocks' worth of the default batch: a wallet or bot far ahead of the chain is refused, not stored. */
  maxPerSender: 1_000,
  maxQueued: 10_000,
  /** Geth's default. */
  lifetimeMs: 3 * 60 * 60 * 1000,
} satisfies Required<MempoolOptions>;
