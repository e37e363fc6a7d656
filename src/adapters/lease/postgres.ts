import type { Logger } from 'pino';
import type { PendingQuery, Row, Sql } from 'postgres';
import type { NodeHealthRecord } from '../../types/health.js';
import type { Grant, LeaseBackend, LeaseHolder } from './interface.js';
import { defaultPostgresLeaseOptions, type PostgresLeaseOptions } from './options.js';
import { abortable, checkTtl, releaseLateGrant } from './util.js';

/**
 * The lease table, independent of the block store's versioned migrations: one row per lease name,
 * so several Baton deployments (or the leader and other locks) can share one database.
 * `expires_at` is written and compared only with the server's `now()`, never a node's clock.
 * `-infinity` marks a released lease; `epoch` never goes back, so it outlives every holder.
 * `lease_health` holds each node's health record with its expiry, by the same server clock.
 */
const MIGRATION = `
CREATE TABLE IF NOT EXISTS lease (
  name       TEXT PRIMARY KEY,
  holder     TEXT,
  epoch      BIGINT NOT NULL DEFAULT 0,
  expires_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
  meta       JSONB
);
CREATE TABLE IF NOT EXISTS lease_health (
  lease      TEXT NOT NULL,
  id         TEXT NOT NULL,
  record     JSONB NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (lease, id)
)`;

/** Serialises concurrent first starts: `CREATE TABLE IF NOT EXISTS` alone races on the catalog. */
const MIGRATION_LOCK_KEY = 0x6261746f6e; // "baton"

export interface PostgresLeaseModules {
  /** A pool of its own is best: renewals must not queue behind block commits. */
  sql: Sql;
  logger: Logger;
}

/**
 * A lease row judged by PostgreSQL's clock (DESIGN §3). Every operation is one atomic `UPDATE`:
 * concurrent acquirers queue on the row lock and re-check the `WHERE` against the winner's row
 * (READ COMMITTED re-evaluation), so exactly one of them matches. The fencing epoch is a counter
 * column bumped by every new acquisition (a re-acquire by the same id too); renew and release
 * match holder AND epoch, so an older grant of the same id is dead.
 *
 * `now()` is the statement's transaction start, after the client sent the request; so a lease
 * never ends on the server before `t0 + ttl` on the holder's own monotonic clock, whatever the
 * clock offset between them.
 */
export class PostgresLease implements LeaseBackend {
  private readonly sql: Sql;
  private readonly name: string;
  private readonly logger: Logger;
  private ready: Promise<void> | undefined;

  constructor(opts: PostgresLeaseOptions, modules: PostgresLeaseModules) {
    this.name = opts.name ?? defaultPostgresLeaseOptions.name;
    this.sql = modules.sql;
    this.logger = modules.logger;
  }

  /** Creates the table and this lease's row if missing. Idempotent; the first operation calls it. */
  init(): Promise<void> {
    this.ready ??= this.sql
      .begin(async (sql) => {
        await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
        await sql.unsafe(MIGRATION);
        await sql`INSERT INTO lease (name) VALUES (${this.name}) ON CONFLICT (name) DO NOTHING`;
      })
      .then(
        () => undefined,
        (err: unknown) => {
          this.ready = undefined; // retry on the next call (e.g. the database was not up yet)
          throw err;
        },
      );
    return this.ready;
  }

  async tryAcquire(id: string, ttlMs: number, signal: AbortSignal, meta?: Record<string, string>): Promise<Grant | null> {
    checkTtl(ttlMs);
    // Cast through text: a jsonb-typed parameter would be JSON-encoded a second time.
    const metaJson = meta && Object.keys(meta).length > 0 ? JSON.stringify(meta) : null;
    const rows = await this.run(
      signal,
      (sql) => sql<{ epoch: string }[]>`
        UPDATE lease
           SET holder = ${id}, epoch = epoch + 1, expires_at = now() + ${ttlMs}::int * interval '1 millisecond',
               meta = ${metaJson}::text::jsonb
         WHERE name = ${this.name} AND (holder IS NULL OR expires_at <= now())
        RETURNING epoch::text`,
      (late) => releaseLateGrant(this, id, late[0] ? { epoch: BigInt(late[0].epoch) } : null, this.logger),
    );
    const row = rows[0];
    return row ? { epoch: BigInt(row.epoch) } : null;
  }

  async renew(id: string, grant: Grant, ttlMs: number, signal: AbortSignal): Promise<Grant | null> {
    checkTtl(ttlMs);
    const rows = await this.run(
      signal,
      (sql) => sql`
        UPDATE lease SET expires_at = now() + ${ttlMs}::int * interval '1 millisecond'
         WHERE name = ${this.name} AND holder = ${id} AND epoch = ${grant.epoch.toString()}::bigint AND expires_at > now()
        RETURNING 1`,
    );
    return rows.length === 1 ? grant : null;
  }

  async release(id: string, grant: Grant): Promise<void> {
    await this.init();
    await this.sql`
      UPDATE lease SET holder = NULL, meta = NULL, expires_at = '-infinity'
       WHERE name = ${this.name} AND holder = ${id} AND epoch = ${grant.epoch.toString()}::bigint`;
  }

  async current(signal: AbortSignal): Promise<LeaseHolder | null> {
    const rows = await this.run(
      signal,
      (sql) => sql<{ holder: string; epoch: string; meta: Record<string, string> | null }[]>`
        SELECT holder, epoch::text, meta FROM lease
         WHERE name = ${this.name} AND holder IS NOT NULL AND expires_at > now()`,
    );
    const row = rows[0];
    if (!row) return null;
    const holder: LeaseHolder = { holder: row.holder, epoch: BigInt(row.epoch) };
    if (row.meta) holder.meta = row.meta;
    return holder;
  }

  async publishHealth(record: NodeHealthRecord, ttlMs: number, signal: AbortSignal): Promise<void> {
    checkTtl(ttlMs);
    const json = JSON.stringify(record);
    await this.run(
      signal,
      (sql) => sql`
        INSERT INTO lease_health (lease, id, record, expires_at)
        VALUES (${this.name}, ${record.id}, ${json}::text::jsonb, now() + ${ttlMs}::int * interval '1 millisecond')
        ON CONFLICT (lease, id) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at`,
    );
  }

  async healthRecords(signal: AbortSignal): Promise<NodeHealthRecord[]> {
    const rows = await this.run(
      signal,
      (sql) => sql<{ record: NodeHealthRecord }[]>`SELECT record FROM lease_health WHERE lease = ${this.name} AND expires_at > now() ORDER BY id`,
    );
    return rows.map((row) => row.record);
  }

  /**
   * One statement, abortable: on abort the caller is rejected at once and the query is cancelled
   * on the server (it may still have committed just before; `onLate` then sees its result).
   */
  private async run<T extends readonly Row[]>(signal: AbortSignal, query: (sql: Sql) => PendingQuery<T>, onLate?: (value: T) => void): Promise<T> {
    return abortable(
      signal,
      async () => {
        await this.init();
        if (signal.aborted) return [] as unknown as T; // nothing sent: an empty result grants nothing
        const pending = query(this.sql);
        const cancel = (): void => void pending.cancel();
        signal.addEventListener('abort', cancel, { once: true });
        try {
          return await pending;
        } finally {
          signal.removeEventListener('abort', cancel);
        }
      },
      onLate,
    );
  }
}
