/**
 * The committed chain in memory: a fake of the block store port (`IBlockStore`), for actor tests
 * that need no PostgreSQL.
 */

import { StoreError, StoreErrorCode } from '../../src/adapters/postgres/errors.js';
import type { CommitResult, IBlockStore } from '../../src/adapters/postgres/interface.js';
import type { BlockToCommit, CommittedBlock, StoredBlock } from '../../src/types/block.js';
import { type FaultArming, FaultPlan, withFault } from './faultPlan.js';

/** The store's methods, by which failures are armed. */
export type StoreMethod = Exclude<keyof IBlockStore, 'pages'>;

/**
 * Keeps the fence rules of `BlockStore` (src/adapters/postgres/blockStore.ts) with the same
 * `StoreError` codes: a commit below the fence is STALE_EPOCH, and one that goes through raises
 * the fence to its epoch; the same hash again at a height is an idempotent success
 * (`inserted: false`), another hash there (or this hash at another height) is HEIGHT_TAKEN; a
 * block whose parent is not the hash stored at n−1 is PARENT_MISMATCH, except the first block of
 * an empty store (the genesis rule). A refused commit changes nothing, the fence included, as
 * the real one's transaction rolls back. `raiseFence` refuses a lower epoch with STALE_EPOCH.
 *
 * `failNext` makes the next calls of a method fail with DB_UNREACHABLE (the outcome of a commit
 * is then unknown to the caller: here it did not happen).
 */
export class MemoryStore implements IBlockStore {
  private readonly rows = new Map<bigint, StoredBlock>();
  private readonly heights = new Map<string, bigint>();
  private fence = 0n;
  private readonly faults = new FaultPlan<StoreMethod>();

  /** The next `times` calls of `method` reject with DB_UNREACHABLE. */
  failNext(method: StoreMethod, opts: FaultArming = {}): void {
    this.faults.arm(method, { kind: 'fail', error: () => new StoreError(StoreErrorCode.DB_UNREACHABLE, `memory store: injected failure of ${method}`) }, opts);
  }

  /** Every committed block in height order (what a test checks the chain by). */
  all(): StoredBlock[] {
    return [...this.rows.values()].sort((a, b) => (a.number < b.number ? -1 : 1)).map((r) => ({ ...r }));
  }

  migrate(): Promise<void> {
    return this.serve('migrate', [], () => undefined);
  }

  commitBlock(block: BlockToCommit, epoch: bigint, leader: string): Promise<CommitResult> {
    return this.serve('commitBlock', [block, epoch, leader], () => {
      const hash = block.hash.toLowerCase();
      const parentHash = block.parentHash.toLowerCase();
      const n = block.number;
      const meta = { number: n.toString(), hash, epoch: epoch.toString() };
      if (this.fence > epoch)
        throw new StoreError(StoreErrorCode.STALE_EPOCH, `epoch ${epoch} is stale: fence is at ${this.fence}`, { ...meta, fenceEpoch: this.fence.toString() });
      const existing = this.rows.get(n);
      if (existing) {
        if (existing.hash !== hash)
          throw new StoreError(StoreErrorCode.HEIGHT_TAKEN, `block ${n} is already committed as ${existing.hash}`, { ...meta, committedHash: existing.hash });
        this.fence = epoch;
        return { inserted: false };
      }
      const parent = this.rows.get(n - 1n);
      if (parent ? parent.hash !== parentHash : this.rows.size > 0) {
        throw new StoreError(
          StoreErrorCode.PARENT_MISMATCH,
          `block ${n} does not extend the committed chain: parent ${parentHash}, stored ${parent?.hash ?? 'nothing'} at ${n - 1n}`,
          {
            ...meta,
            parentHash,
            storedParent: parent?.hash ?? '',
          },
        );
      }
      if (this.heights.has(hash)) throw new StoreError(StoreErrorCode.HEIGHT_TAKEN, `block hash ${hash} is already committed at another height`, meta);
      const { payloadData, requestsData, timestamp, txCount } = block;
      this.rows.set(n, { number: n, hash, parentHash, timestamp, txCount, epoch, leader, payloadData, requestsData, createdAt: new Date() });
      this.heights.set(hash, n);
      this.fence = epoch;
      return { inserted: true };
    });
  }

  head(): Promise<CommittedBlock | null> {
    return this.serve('head', [], () => {
      const top = this.all().at(-1);
      if (!top) return null;
      const { payloadData: _p, requestsData: _r, createdAt: _c, ...summary } = top;
      return summary;
    });
  }

  getByNumber(number: bigint): Promise<StoredBlock | null> {
    return this.serve('getByNumber', [number], () => copy(this.rows.get(number)));
  }

  getByHash(hash: string): Promise<StoredBlock | null> {
    return this.serve('getByHash', [hash], () => {
      const n = this.heights.get(hash.toLowerCase());
      return copy(n === undefined ? undefined : this.rows.get(n));
    });
  }

  range(afterNumber: bigint, limit: number): Promise<StoredBlock[]> {
    return this.serve('range', [afterNumber, limit], () => {
      if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
      return this.all()
        .filter((r) => r.number > afterNumber)
        .slice(0, limit);
    });
  }

  async *pages(fromNumber: bigint, pageSize: number): AsyncIterableIterator<StoredBlock[]> {
    let after = fromNumber - 1n;
    for (;;) {
      const page = await this.range(after, pageSize);
      if (page.length === 0) return;
      yield page;
      if (page.length < pageSize) return;
      after = page.at(-1)!.number;
    }
  }

  raiseFence(epoch: bigint): Promise<void> {
    return this.serve('raiseFence', [epoch], () => {
      if (this.fence > epoch)
        throw new StoreError(StoreErrorCode.STALE_EPOCH, `epoch ${epoch} is stale: fence is at ${this.fence}`, {
          epoch: epoch.toString(),
          fenceEpoch: this.fence.toString(),
        });
      this.fence = epoch;
    });
  }

  fenceEpoch(): Promise<bigint> {
    return this.serve('fenceEpoch', [], () => this.fence);
  }

  close(): Promise<void> {
    return this.serve('close', [], () => undefined);
  }

  private serve<T>(method: StoreMethod, args: unknown[], normal: () => T): Promise<T> {
    return withFault(this.faults.take(method, args), undefined, normal);
  }
}

function copy(row: StoredBlock | undefined): StoredBlock | null {
  return row ? { ...row } : null;
}
