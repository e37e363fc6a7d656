import type { Logger } from 'pino';
import postgres, { type Sql } from 'postgres';
import type { BlockToCommit, CommittedBlock, StoredBlock } from '../../types/block.js';
import { isConnectionError, StoreError, StoreErrorCode, unreachable } from './errors.js';
import type { CommitResult, IBlockStore } from './interface.js';
import { runMigrations } from './migrate.js';
import { type BlockStoreOptions, defaultBlockStoreOptions } from './options.js';

export interface BlockStoreModules {
  logger: Logger;
}

/** int8 columns arrive as bigint and bigint parameters go out as int8: heights and epochs beyond 2^53 stay exact. */
type Db = Sql<{ bigint: bigint }>;

interface Row {
  block_number: bigint;
  block_hash: string;
  parent_hash: string;
  timestamp: bigint;
  tx_count: number;
  epoch: bigint;
  leader: string;
  payload_data: Uint8Array;
  requests_data: Uint8Array;
  created_at: Date;
}
type SummaryRow = Omit<Row, 'payload_data' | 'requests_data' | 'created_at'>;

function toSummary(r: SummaryRow): CommittedBlock {
  return {
    number: r.block_number,
    hash: r.block_hash,
    parentHash: r.parent_hash,
    timestamp: r.timestamp,
    txCount: r.tx_count,
    epoch: r.epoch,
    leader: r.leader,
  };
}

function toStored(r: Row): StoredBlock {
  return { ...toSummary(r), payloadData: r.payload_data, requestsData: r.requests_data, createdAt: r.created_at };
}

/**
 * The committed chain in PostgreSQL (or PGlite over its socket), guarded by the fence of DESIGN §4.
 *
 * Genesis rule: the store does not know the chain's genesis. While `payloads` is empty, the first
 * commit may be at any height with any parent (a fresh leader starts after its EL's genesis; a
 * member may start from a snapshot). From then on every commit must extend the stored row at n−1,
 * so the stored chain is contiguous and singly linked by induction.
 */
export class BlockStore implements IBlockStore {
  private readonly sql: Db;
  private readonly url: string;
  private readonly logger: Logger;

  constructor(opts: BlockStoreOptions, modules: BlockStoreModules) {
    const o = { ...defaultBlockStoreOptions, ...opts };
    this.url = o.url;
    this.logger = modules.logger;
    this.sql = postgres(o.url, {
      max: o.maxConnections,
      connect_timeout: o.connectTimeoutMs / 1000,
      idle_timeout: o.idleTimeoutMs / 1000,
      types: { bigint: postgres.BigInt },
      // No array types are used; fetching them on every new connection leaves an unhandled rejection
      // (a process crash) when that connection drops mid-fetch (postgres.js 3.4.9, found by chaos).
      fetch_types: false,
      connection: { application_name: 'baton' },
      onnotice: (notice) => this.logger.debug({ notice: notice.message }, 'PostgreSQL notice'),
    });
  }

  /** Brings the schema to the newest version; call once at start. Fails fast with DB_UNREACHABLE. */
  async migrate(): Promise<void> {
    await this.run(() => runMigrations(this.sql, this.logger));
  }

  /**
   * Commits one block in one statement (`baton_commit_block`, migration 003): lock the fence row,
   * refuse a lower epoch (STALE_EPOCH), raise the fence to `epoch`, accept an identical row as an
   * idempotent retry, refuse another block at the height (HEIGHT_TAKEN) or one that does not
   * extend row n−1 (PARENT_MISMATCH). One round trip: a commit is the leader pipeline's floor.
   */
  async commitBlock(block: BlockToCommit, epoch: bigint, leader: string): Promise<CommitResult> {
    const hash = block.hash.toLowerCase();
    const parentHash = block.parentHash.toLowerCase();
    const n = block.number;
    const meta = { number: n.toString(), hash, epoch: epoch.toString() };
    try {
      const [row] = await this.run(
        () => this.sql<{ inserted: boolean }[]>`
          SELECT baton_commit_block(${n}, ${hash}, ${parentHash}, ${block.payloadData}, ${block.requestsData}, ${block.timestamp}, ${block.txCount}, ${epoch}, ${leader}) AS inserted`,
      );
      return { inserted: row!.inserted };
    } catch (err) {
      const { code, detail } = err as { code?: string; detail?: string };
      switch (code) {
        case 'BT001':
          throw new StoreError(StoreErrorCode.STALE_EPOCH, `epoch ${epoch} is stale: fence is at ${detail}`, { ...meta, fenceEpoch: detail ?? '' });
        case 'BT002':
          throw new StoreError(StoreErrorCode.HEIGHT_TAKEN, `block ${n} is already committed as ${detail}`, { ...meta, committedHash: detail ?? '' });
        case 'BT003':
          throw new StoreError(
            StoreErrorCode.PARENT_MISMATCH,
            `block ${n} does not extend the committed chain: parent ${parentHash}, stored ${detail || 'nothing'} at ${n - 1n}`,
            { ...meta, parentHash, storedParent: detail ?? '' },
          );
        case '23505':
          // Only block_hash can collide (the height was checked under the fence lock): the same block sits at another height.
          throw new StoreError(StoreErrorCode.HEIGHT_TAKEN, `block hash ${hash} is already committed at another height`, meta);
        default:
          throw err;
      }
    }
  }

  /** The highest committed block, or null before the first commit. */
  async head(signal?: AbortSignal): Promise<CommittedBlock | null> {
    const rows = await this.run(() =>
      cancelledBy(
        signal,
        this.sql<SummaryRow[]>`
        SELECT block_number, block_hash, parent_hash, timestamp, tx_count, epoch, leader
        FROM payloads ORDER BY block_number DESC LIMIT 1`,
      ),
    );
    return rows[0] ? toSummary(rows[0]) : null;
  }

  async getByNumber(number: bigint): Promise<StoredBlock | null> {
    const rows = await this.run(() => this.sql<Row[]>`SELECT * FROM payloads WHERE block_number = ${number}`);
    return rows[0] ? toStored(rows[0]) : null;
  }

  async getByHash(hash: string): Promise<StoredBlock | null> {
    const rows = await this.run(() => this.sql<Row[]>`SELECT * FROM payloads WHERE block_hash = ${hash.toLowerCase()}`);
    return rows[0] ? toStored(rows[0]) : null;
  }

  /** Up to `limit` committed blocks with number > `afterNumber`, in ascending order (`GET /blocks?after=N&limit=M`). */
  async range(afterNumber: bigint, limit: number): Promise<StoredBlock[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    const rows = await this.run(() => this.sql<Row[]>`SELECT * FROM payloads WHERE block_number > ${afterNumber} ORDER BY block_number LIMIT ${limit}`);
    return rows.map(toStored);
  }

  /**
   * Replays committed blocks from `fromNumber` in pages of `pageSize` until a short page.
   * Keyset pagination on the primary key rather than a server-side cursor: a cursor would pin a
   * connection and a transaction for the whole replay, and with PGlite's single connection that
   * would block every commit until a slow feed subscriber caught up.
   */
  async *pages(fromNumber: bigint, pageSize: number): AsyncIterableIterator<StoredBlock[]> {
    let after = fromNumber - 1n;
    for (;;) {
      const page = await this.range(after, pageSize);
      const last = page[page.length - 1];
      if (!last) return;
      yield page;
      if (page.length < pageSize) return;
      after = last.number;
    }
  }

  /** The highest epoch that has committed (0 before any commit). */
  /**
   * Raises the fence to `epoch` without committing a block: a new leader does this first, so a
   * deposed leader's in-flight commit fails with STALE_EPOCH instead of landing after the new
   * leader read the head (and after it repaired the Stream). STALE_EPOCH if the fence is higher.
   */
  async raiseFence(epoch: bigint): Promise<void> {
    const rows = await this.run(
      () => this.sql<{ epoch: bigint }[]>`
      UPDATE fence SET epoch = GREATEST(epoch, ${epoch}) WHERE id = 1 RETURNING epoch`,
    );
    const fenced = rows[0]?.epoch;
    if (fenced === undefined) throw new Error('fence row missing: run migrate() first');
    if (fenced > epoch)
      throw new StoreError(StoreErrorCode.STALE_EPOCH, `epoch ${epoch} is stale: fence is at ${fenced}`, {
        epoch: epoch.toString(),
        fenceEpoch: fenced.toString(),
      });
  }

  async fenceEpoch(): Promise<bigint> {
    const rows = await this.run(() => this.sql<{ epoch: bigint }[]>`SELECT epoch FROM fence WHERE id = 1`);
    return rows[0]?.epoch ?? 0n;
  }

  async close(opts: { timeout?: number } = {}): Promise<void> {
    await this.sql.end({ timeout: opts.timeout ?? 5 });
  }

  /** Maps connection failures to a one-line DB_UNREACHABLE; store and SQL errors pass through. */
  private async run<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (!(err instanceof StoreError) && isConnectionError(err)) throw unreachable(this.url, err);
      throw err;
    }
  }
}

/**
 * A query that rejects at once when `signal` aborts, and is cancelled on the server: a caller that
 * must answer in time (the HealthMonitor's probe) is not held by an unreachable database.
 */
function cancelledBy<T>(signal: AbortSignal | undefined, query: postgres.PendingQuery<T & postgres.Row[]>): Promise<T> {
  if (!signal) return query;
  if (signal.aborted) return Promise.reject(new StoreError(StoreErrorCode.DB_UNREACHABLE, `aborted: ${String(signal.reason)}`));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      void query.cancel();
      reject(
        new StoreError(StoreErrorCode.DB_UNREACHABLE, `no answer in time: ${signal.reason instanceof Error ? signal.reason.message : String(signal.reason)}`),
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
    query.then(
      (rows) => {
        signal.removeEventListener('abort', onAbort);
        resolve(rows);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
