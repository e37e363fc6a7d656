import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { pino } from 'pino';
import postgres from 'postgres';
import {
  BlockStore,
  type EmbeddedPostgres,
  openBlockStore,
  StoreError,
  type StoreErrorCode,
  startEmbeddedPostgres,
} from '../../src/adapters/postgres/index.js';
import type { BlockToCommit } from '../../src/types/block.js';
import { databaseUrl, POSTGRES_ADMIN_URL } from '../helpers/services.js';

const logger = pino({ level: 'silent' });

/** A fresh, empty database on one target. */
interface Db {
  url: string;
  /**
   * A store on the database. Real PostgreSQL gives a new client (own pool) per call; PGlite serves
   * one connection, so it hands out one shared store (DESIGN §8).
   */
  store(): BlockStore;
  /** Runs `fn` on a short-lived raw client after closing every store (PGlite allows one client). */
  inspect<T>(fn: (sql: postgres.Sql<{ bigint: bigint }>) => Promise<T>): Promise<T>;
  cleanup(): Promise<void>;
}

interface Target {
  name: string;
  fresh(): Promise<Db>;
}

function rawClient(url: string): postgres.Sql<{ bigint: bigint }> {
  return postgres(url, { max: 1, types: { bigint: postgres.BigInt }, onnotice: () => {} });
}

function makeDb(url: string, shared: boolean, dropDb: () => Promise<void>): Db {
  const stores: BlockStore[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(stores.splice(0).map((s) => s.close({ timeout: 1 })));
  };
  return {
    url,
    store() {
      if (shared && stores[0]) return stores[0];
      const s = new BlockStore({ url, maxConnections: shared ? 1 : 4 }, { logger });
      stores.push(s);
      return s;
    },
    async inspect(fn) {
      await closeAll();
      const sql = rawClient(url);
      try {
        return await fn(sql);
      } finally {
        await sql.end();
      }
    },
    async cleanup() {
      await closeAll();
      await dropDb();
    },
  };
}

const realPostgres: Target = {
  name: 'postgres',
  async fresh() {
    const name = `baton_test_${randomBytes(6).toString('hex')}`;
    const admin = rawClient(POSTGRES_ADMIN_URL);
    await admin`CREATE DATABASE ${admin(name)}`;
    await admin.end();
    return makeDb(databaseUrl(name), false, async () => {
      const sql = rawClient(POSTGRES_ADMIN_URL);
      await sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`;
      await sql.end();
    });
  },
};

let embedded: { server: EmbeddedPostgres; dir: string } | undefined;
const pglite: Target = {
  name: 'pglite',
  async fresh() {
    if (!embedded) {
      const dir = await mkdtemp(join(tmpdir(), 'baton-pglite-'));
      embedded = { server: await startEmbeddedPostgres({ dataDir: dir }, { logger }), dir };
    }
    const url = embedded.server.url;
    const reset = async (): Promise<void> => {
      const sql = rawClient(url);
      await sql.unsafe('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
      await sql.end();
    };
    await reset();
    return makeDb(url, true, reset);
  },
};

test.after.always(async () => {
  if (!embedded) return;
  await embedded.server.stop();
  await rm(embedded.dir, { recursive: true, force: true });
});

function hashOf(tag: string): string {
  return `0x${createHash('sha256').update(tag).digest('hex')}`;
}

function block(n: bigint, parentHash: string, tag = 'a'): BlockToCommit {
  return {
    number: n,
    hash: hashOf(`${tag}:${n}`),
    parentHash,
    timestamp: 1_700_000_000n + n,
    txCount: Number(n % 7n),
    payloadData: new Uint8Array(randomBytes(64)),
    requestsData: Uint8Array.of(Number(n % 256n)),
  };
}

/** Commits a contiguous chain after `parent` and returns the blocks. */
async function chain(store: BlockStore, from: bigint, count: number, parent: string, epoch = 1n, tag = 'a') {
  const blocks: BlockToCommit[] = [];
  for (let i = 0; i < count; i++) {
    const b = block(from + BigInt(i), blocks[i - 1]?.hash ?? parent, tag);
    await store.commitBlock(b, epoch, 'leader-a');
    blocks.push(b);
  }
  return blocks;
}

async function expectStoreError(t: ExecutionContext, p: Promise<unknown>, code: StoreErrorCode, what: string) {
  const err = await t.throwsAsync(p, { instanceOf: StoreError }, what);
  t.is(err?.code, code, what);
}

const GENESIS = hashOf('genesis');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Registers one test per target, serially: PGlite holds one connection, and memory per instance is large. */
function both(title: string, fn: (t: ExecutionContext, db: Db) => Promise<void>): void {
  for (const target of [realPostgres, pglite]) {
    test.serial(`${target.name}: ${title}`, async (t) => {
      const db = await target.fresh();
      try {
        await fn(t, db);
      } finally {
        await db.cleanup();
      }
    });
  }
}

both('migrations apply once, also when two nodes start at once', async (t, db) => {
  await Promise.all([db.store().migrate(), db.store().migrate()]);
  const versions = await db.inspect((sql) => sql<{ version: number }[]>`SELECT version FROM schema_migrations ORDER BY version`);
  t.deepEqual(
    versions.map((r) => r.version),
    [1, 2, 3],
  );
  await db.store().migrate();
  const again = await db.inspect((sql) => sql<{ n: bigint }[]>`SELECT count(*) AS n FROM schema_migrations`);
  t.is(again[0]?.n, 3n);
  t.is(await db.store().fenceEpoch(), 0n);
});

both('commits and reads back blocks', async (t, db) => {
  const store = db.store();
  await store.migrate();
  t.is(await store.head(), null);
  const blocks = await chain(store, 1n, 3, GENESIS, 4n);
  const [b1, b2, b3] = blocks as [BlockToCommit, BlockToCommit, BlockToCommit];

  const head = await store.head();
  t.deepEqual(head, {
    number: 3n,
    hash: b3.hash,
    parentHash: b2.hash,
    timestamp: b3.timestamp,
    txCount: b3.txCount,
    epoch: 4n,
    leader: 'leader-a',
  });
  const got = await store.getByNumber(2n);
  t.is(got?.hash, b2.hash);
  t.is(got?.parentHash, b1.hash);
  t.deepEqual(new Uint8Array(got?.payloadData ?? []), b2.payloadData);
  t.deepEqual(new Uint8Array(got?.requestsData ?? []), b2.requestsData);
  t.true(got?.createdAt instanceof Date);
  t.is((await store.getByHash(b1.hash.toUpperCase().replace('0X', '0x')))?.number, 1n);
  t.is(await store.getByNumber(4n), null);
  t.is(await store.getByHash(hashOf('nope')), null);
  t.deepEqual(
    (await store.range(0n, 2)).map((b) => b.number),
    [1n, 2n],
  );
  t.deepEqual(
    (await store.range(2n, 10)).map((b) => b.number),
    [3n],
  );
  t.deepEqual(await store.range(3n, 10), []);
  await t.throwsAsync(store.range(0n, 0), { instanceOf: RangeError });
});

both('a repeated commit of the same block is an idempotent success', async (t, db) => {
  const store = db.store();
  await store.migrate();
  const [b1] = await chain(store, 1n, 1, GENESIS, 1n);
  t.deepEqual(await store.commitBlock(b1 as BlockToCommit, 2n, 'leader-b'), { inserted: false });
  const row = await store.getByNumber(1n);
  t.is(row?.leader, 'leader-a', 'the original row is kept');
  t.is(row?.epoch, 1n);
  t.is((await store.range(0n, 10)).length, 1);
});

both('a different block at a committed height is HEIGHT_TAKEN', async (t, db) => {
  const store = db.store();
  await store.migrate();
  const [b1, b2] = (await chain(store, 1n, 2, GENESIS)) as [BlockToCommit, BlockToCommit];
  await expectStoreError(t, store.commitBlock(block(2n, b1.hash, 'other'), 1n, 'x'), 'HEIGHT_TAKEN', 'other hash at 2');
  t.is((await store.getByNumber(2n))?.hash, b2.hash);
  // The same hash at another height collides on the block_hash unique key.
  await expectStoreError(t, store.commitBlock({ ...b2, number: 3n, parentHash: b2.hash }, 1n, 'x'), 'HEIGHT_TAKEN', 'hash reuse');
  t.is((await store.head())?.number, 2n);
});

both('a block must extend the stored chain; the first one may start anywhere', async (t, db) => {
  const store = db.store();
  await store.migrate();
  const [b100] = (await chain(store, 100n, 1, hashOf('anything'))) as [BlockToCommit];
  await expectStoreError(t, store.commitBlock(block(101n, hashOf('wrong')), 1n, 'x'), 'PARENT_MISMATCH', 'wrong parent');
  await expectStoreError(t, store.commitBlock(block(103n, b100.hash), 1n, 'x'), 'PARENT_MISMATCH', 'gap');
  await expectStoreError(t, store.commitBlock(block(99n, hashOf('x')), 1n, 'x'), 'PARENT_MISMATCH', 'below the first');
  t.deepEqual(
    (await store.range(0n, 10)).map((b) => b.number),
    [100n],
  );
  t.true((await store.commitBlock(block(101n, b100.hash), 1n, 'x')).inserted);
});

both('the fence refuses a lower epoch and only a successful commit raises it', async (t, db) => {
  const store = db.store();
  await store.migrate();
  const [b1] = (await chain(store, 1n, 1, GENESIS, 5n)) as [BlockToCommit];
  t.is(await store.fenceEpoch(), 5n);
  const b2 = block(2n, b1.hash);
  await expectStoreError(t, store.commitBlock(b2, 3n, 'old'), 'STALE_EPOCH', 'epoch 3 < 5');
  t.is(await store.getByNumber(2n), null, 'a stale commit stores nothing');
  await expectStoreError(t, store.commitBlock(b1, 4n, 'old'), 'STALE_EPOCH', 'stale even when idempotent');
  t.true((await store.commitBlock(b2, 5n, 'same')).inserted, 'an equal epoch commits');
  await expectStoreError(t, store.commitBlock(block(3n, hashOf('bad')), 9n, 'new'), 'PARENT_MISMATCH', 'failed commit');
  t.is(await store.fenceEpoch(), 5n, 'a failed commit rolls back the fence');
  await store.commitBlock(block(3n, b2.hash), 7n, 'new');
  t.is(await store.fenceEpoch(), 7n);
});

both("raiseFence: a new leader's fence makes the deposed leader's in-flight commit stale", async (t, db) => {
  const store = db.store();
  await store.migrate();
  const [b1] = (await chain(store, 1n, 1, GENESIS, 1n)) as [BlockToCommit];
  await store.raiseFence(2n);
  t.is(await store.fenceEpoch(), 2n);
  await expectStoreError(t, store.commitBlock(block(2n, b1.hash), 1n, 'old'), 'STALE_EPOCH', "the old leader's next block");
  await store.raiseFence(2n);
  t.is(await store.fenceEpoch(), 2n, 'raising to the same epoch is a no-op');
  await expectStoreError(t, store.raiseFence(1n), 'STALE_EPOCH', 'a lower epoch cannot lower the fence');
  t.is(await store.fenceEpoch(), 2n);
});

both('heights, timestamps and epochs above 2^53 keep full precision', async (t, db) => {
  const store = db.store();
  await store.migrate();
  const n = 2n ** 60n + 1n;
  const b = { ...block(n, GENESIS), timestamp: 2n ** 62n + 3n };
  const epoch = 2n ** 55n + 1n;
  await store.commitBlock(b, epoch, 'big');
  const next = block(n + 1n, b.hash);
  await store.commitBlock(next, epoch, 'big');
  const got = await store.getByNumber(n);
  t.is(got?.number, n);
  t.is(got?.timestamp, 2n ** 62n + 3n);
  t.is(got?.epoch, epoch);
  t.is(await store.fenceEpoch(), epoch);
  t.is((await store.head())?.number, n + 1n);
  t.deepEqual(
    (await store.range(n, 5)).map((r) => r.number),
    [n + 1n],
  );
});

both('pages() replays a range in order without holding the connection', async (t, db) => {
  const store = db.store();
  await store.migrate();
  const blocks = await chain(store, 1n, 25, GENESIS);
  const seen: bigint[] = [];
  const sizes: number[] = [];
  let extra: BlockToCommit | undefined;
  for await (const page of store.pages(1n, 10)) {
    sizes.push(page.length);
    seen.push(...page.map((b) => b.number));
    if (!extra) {
      // A commit between pages must not wait for the replay to finish (PGlite has one connection).
      extra = block(26n, blocks[24]?.hash ?? '');
      await store.commitBlock(extra, 1n, 'leader-a');
    }
  }
  t.deepEqual(sizes, [10, 10, 6]);
  t.deepEqual(
    seen,
    Array.from({ length: 26 }, (_, i) => BigInt(i + 1)),
  );
  t.deepEqual(await collect(store.pages(21n, 10)), [21n, 22n, 23n, 24n, 25n, 26n]);
  t.deepEqual(await collect(store.pages(27n, 10)), []);
});

async function collect(pages: AsyncIterable<{ number: bigint }[]>): Promise<bigint[]> {
  const out: bigint[] = [];
  for await (const page of pages) out.push(...page.map((b) => b.number));
  return out;
}

both('two leaders racing: after epoch 2 commits, every epoch-1 commit is STALE_EPOCH', async (t, db) => {
  const s1 = db.store();
  const s2 = db.store();
  await Promise.all([s1.migrate(), s2.migrate()]);
  const accepted = new Map<bigint, string>();
  let epoch2CommittedAt = Infinity;
  const afterEpoch2: string[] = [];

  let committedByEpoch1 = 0;
  let staleSeen = 0;
  /** A leader loop: builds on what it believes is the head; on a conflict it re-reads the head. */
  const leader = async (store: BlockStore, epoch: bigint, tag: string, jitterMs: number, done: () => boolean) => {
    let head = await store.head();
    for (let i = 0; i < 5_000 && !done(); i++) {
      // Jitter breaks lockstep on PGlite's single connection, where the old leader could otherwise
      // always commit on top of the head just before the new one does.
      if (jitterMs) await sleep(Math.random() * jitterMs);
      const b = block((head?.number ?? 0n) + 1n, head?.hash ?? GENESIS, `${tag}${i}`);
      const startedAt = performance.now();
      try {
        const res = await store.commitBlock(b, epoch, tag);
        t.true(res.inserted, `${tag} block ${b.number} inserted`);
        t.is(accepted.get(b.number) ?? b.hash, b.hash, `one hash at height ${b.number}`);
        accepted.set(b.number, b.hash);
        if (epoch === 1n) committedByEpoch1++;
        if (epoch === 1n && startedAt > epoch2CommittedAt) afterEpoch2.push(`block ${b.number} committed by epoch 1`);
        if (epoch === 2n) epoch2CommittedAt = Math.min(epoch2CommittedAt, performance.now());
        head = await store.head();
      } catch (err) {
        const code = (err as StoreError).code;
        if (code === 'STALE_EPOCH') staleSeen++;
        if (epoch === 1n && startedAt > epoch2CommittedAt && code !== 'STALE_EPOCH') afterEpoch2.push(`epoch 1 got ${code}`);
        t.true(code === 'STALE_EPOCH' || code === 'HEIGHT_TAKEN' || code === 'PARENT_MISMATCH', `${tag}: ${String(err)}`);
        if (epoch === 2n) t.not(code, 'STALE_EPOCH', 'the newest epoch is never stale');
        head = await store.head();
      }
    }
  };

  // Epoch 1 runs until it has been refused 10 times; epoch 2 joins once epoch 1 is under way.
  const one = leader(s1, 1n, 'one', 3, () => staleSeen >= 10);
  for (let w = 0; committedByEpoch1 < 5 && w < 5_000; w++) await sleep(1);
  let twoAttempts = 0;
  await Promise.all([one, leader(s2, 2n, 'two', 0, () => ++twoAttempts > 30)]);

  t.deepEqual(afterEpoch2, []);
  t.true(Number.isFinite(epoch2CommittedAt), 'epoch 2 committed');
  t.is(staleSeen, 10, 'epoch 1 was refused');
  t.is(await s2.fenceEpoch(), 2n);
  const rows = await s2.range(0n, 1000);
  t.is(rows.length, accepted.size);
  let seenEpoch2 = false;
  for (const [i, r] of rows.entries()) {
    t.is(accepted.get(r.number), r.hash, `stored hash at ${r.number} is the accepted one`);
    const prev = rows[i - 1];
    if (prev) t.is(r.parentHash, prev.hash, `row ${r.number} links to its parent`);
    if (r.epoch === 2n) seenEpoch2 = true;
    else t.false(seenEpoch2, `epoch-1 block ${r.number} above an epoch-2 block`);
  }
});

test.serial('postgres: a commit waits for the fence lock and re-reads the epoch after it', async (t) => {
  const db = await realPostgres.fresh();
  const admin = rawClient(db.url);
  try {
    const store = db.store();
    await store.migrate();
    const b1 = block(1n, GENESIS);
    let settled = false;
    let commit: Promise<unknown> = Promise.resolve();
    await admin.begin(async (tx) => {
      await tx`SELECT epoch FROM fence WHERE id = 1 FOR UPDATE`;
      commit = store.commitBlock(b1, 1n, 'old').finally(() => (settled = true));
      commit.catch(() => {});
      await sleep(300);
      t.false(settled, 'the commit is blocked on the fence row');
      await tx`UPDATE fence SET epoch = 2 WHERE id = 1`;
    });
    await expectStoreError(t, commit, 'STALE_EPOCH', 'the epoch raised while waiting is seen');
    t.is(await store.head(), null);
  } finally {
    await admin.end();
    await db.cleanup();
  }
});

test('an unreachable server fails fast with one line naming --postgres-url', async (t) => {
  const store = new BlockStore({ url: 'postgres://baton:secret@127.0.0.1:1/x', connectTimeoutMs: 2_000 }, { logger });
  const err = await t.throwsAsync(store.migrate(), { instanceOf: StoreError });
  t.is(err?.code, 'DB_UNREACHABLE');
  t.regex(err?.message ?? '', /--postgres-url/);
  t.notRegex(err?.message ?? '', /secret|\n/);
  t.is(err?.meta.cause, 'ECONNREFUSED');
  await store.close({ timeout: 0 });
});

test('a server that never answers hits the connect timeout', async (t) => {
  const sockets: Socket[] = [];
  const silent = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  const store = new BlockStore({ url: `postgres://postgres@127.0.0.1:${port}/x`, connectTimeoutMs: 300 }, { logger });
  const started = performance.now();
  const err = await t.throwsAsync(store.head(), { instanceOf: StoreError });
  t.is(err?.code, 'DB_UNREACHABLE');
  t.is(err?.meta.cause, 'CONNECT_TIMEOUT');
  t.true(performance.now() - started < 3_000, "fails within the timeout, not postgres.js's 30 s default");
  await store.close({ timeout: 0 });
  for (const s of sockets) s.destroy();
  silent.close();
});

test('a missing database is DB_UNREACHABLE too', async (t) => {
  const store = new BlockStore({ url: databaseUrl(`baton_missing_${randomBytes(4).toString('hex')}`) }, { logger });
  const err = await t.throwsAsync(store.migrate(), { instanceOf: StoreError });
  t.is(err?.code, 'DB_UNREACHABLE');
  t.regex(err?.message ?? '', /does not exist/);
  await store.close({ timeout: 0 });
});

test.serial('openBlockStore without a URL runs embedded PGlite that persists across restarts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'baton-open-'));
  try {
    const first = await openBlockStore({ embeddedDataDir: dir }, { logger });
    const [b1] = (await chain(first.store, 1n, 1, GENESIS, 3n)) as [BlockToCommit];
    await first.stop();
    const second = await openBlockStore({ embeddedDataDir: dir }, { logger });
    t.is((await second.store.head())?.hash, b1.hash);
    t.is(await second.store.fenceEpoch(), 3n);
    await second.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
