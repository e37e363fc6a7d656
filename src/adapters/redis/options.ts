/** Options of the fenced Redis block Stream (DESIGN §4, §5). */
export interface BlockStreamOptions {
  /** Key prefix (`--redis-prefix`); the fence is `<prefix>:epoch`, the lease's epoch counter. */
  prefix?: string;
  /** Stream key; default `<prefix>:blocks`. */
  stream?: string;
  /**
   * Approximate length cap (`XADD … MAXLEN ~`): Redis trims whole macro-nodes, so the Stream
   * holds at least this many entries and memory stays bounded. Older blocks remain in PostgreSQL.
   */
  maxLen?: number;
}

export const defaultBlockStreamOptions = {
  prefix: 'consensus',
  /** About a day of 1 s blocks: enough for any consumer to catch up from the Stream alone. */
  maxLen: 100_000,
} satisfies Omit<Required<BlockStreamOptions>, 'stream'>;
