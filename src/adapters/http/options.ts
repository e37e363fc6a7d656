/** Where a server listens. `host` "" means all interfaces; `port` 0 lets the OS pick a free port. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Paging of `GET /blocks?after=N&limit=M`. */
export interface BlocksApiOptions {
  /** `limit` when the query gives none. */
  defaultLimit: number;
  /** Larger limits are clamped to this rather than refused (DESIGN §6: at most 1000). */
  maxLimit: number;
  /**
   * A page stops growing once its JSON passes this many bytes (it always holds at least one block).
   * 1,000 blocks of 1,400-transaction payloads would be a ~250 MB response, past the node's whole
   * memory budget; 16 MiB keeps a page to a few dozen such blocks. Clients page on until `[]`.
   */
  maxPageBytes: number;
}

export const defaultBlocksApiOptions: BlocksApiOptions = {
  defaultLimit: 100,
  maxLimit: 1000,
  maxPageBytes: 16 * 1024 * 1024,
};
