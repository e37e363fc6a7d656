import type { Logger } from 'pino';

/** At most one block line per this long: at 1 s blocks every block gets its line, at 10 ms blocks one line in fifty does. */
const MIN_LINE_INTERVAL_MS = 500;

/** What one block line says. */
export interface BlockLine {
  number: bigint;
  hash: string;
  txs: number;
  /** Milliseconds per stage (e.g. `buildMs`, `commitMs`), as the caller measured them. */
  timings: Record<string, number>;
}

/**
 * The node's `info` line per committed (or, on a member, executed) block: height, hash prefix,
 * transaction count and stage timings, so an operator watching the log sees the chain move.
 * Rate-limited: within `MIN_LINE_INTERVAL_MS` of the last line a block is only counted, and the
 * next line says how many blocks (and transactions) it stands for.
 */
export class BlockLog {
  private lastLineAt = Number.NEGATIVE_INFINITY;
  private skippedBlocks = 0;
  private skippedTxs = 0;

  constructor(
    private readonly logger: Logger,
    private readonly message: string,
  ) {}

  block(line: BlockLine): void {
    const now = performance.now();
    if (now - this.lastLineAt < MIN_LINE_INTERVAL_MS) {
      this.skippedBlocks++;
      this.skippedTxs += line.txs;
      return;
    }
    const since = this.skippedBlocks > 0 ? { sinceLastLine: { blocks: this.skippedBlocks + 1, txs: this.skippedTxs + line.txs } } : {};
    const timings = Object.entries(line.timings).map(([stage, ms]) => `${stage.replace(/Ms$/, '')} ${ms.toFixed(0)} ms`);
    this.logger.info(
      { number: line.number, hash: line.hash, txs: line.txs, ...line.timings, ...since },
      `${this.message} #${line.number} ${line.hash.slice(0, 10)}… ${line.txs} tx${timings.length ? `, ${timings.join(', ')}` : ''}`,
    );
    this.lastLineAt = now;
    this.skippedBlocks = 0;
    this.skippedTxs = 0;
  }
}
