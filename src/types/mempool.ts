/** How many transactions the shared mempool holds in each state (what `/health` and the status page show). */
export interface MempoolSizes {
  pending: number;
  /** Behind a nonce gap of their sender. */
  queued: number;
  inflight: number;
  finalized: number;
  dropped: number;
}
