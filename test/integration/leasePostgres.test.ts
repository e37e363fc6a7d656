import { randomBytes } from 'node:crypto';
import test from 'ava';
import { pino } from 'pino';
import postgres, { type Sql } from 'postgres';
import { createLeaseBackend, type LeaseBackend, PostgresLease } from '../../src/adapters/lease/index.js';
import { createDatabase } from '../helpers/services.js';
import { leaseConformance } from './leaseConformance.js';

const logger = pino({ level: 'silent' });
const db = createDatabase('baton_lease');
test.after.always(async () => (await db).drop());

const connect = async (): Promise<Sql> => postgres((await db).url, { max: 2, onnotice: () => {} });

leaseConformance({
  name: 'postgres',
  async create() {
    const name = `leader-${randomBytes(6).toString('hex')}`;
    const pools = new Map<LeaseBackend, Sql>();
    const admin = await connect();
    const url = (await db).url;
    return {
      backend() {
        const sql = postgres(url, { max: 2, onnotice: () => {} });
        const backend = new PostgresLease({ name }, { sql, logger });
        pools.set(backend, sql);
        return backend;
      },
      async stall(backend) {
        // An open transaction holding ACCESS EXCLUSIVE on the table makes every statement on it wait.
        await (backend as PostgresLease).init();
        let resume!: () => void;
        const released = new Promise<void>((r) => (resume = r));
        let locked!: () => void;
        const isLocked = new Promise<void>((r) => (locked = r));
        const tx = admin.begin(async (sql) => {
          await sql`LOCK TABLE lease IN ACCESS EXCLUSIVE MODE`;
          locked();
          await released;
        });
        await isLocked;
        return async () => {
          resume();
          await tx;
        };
      },
      async close() {
        await admin`DELETE FROM lease WHERE name = ${name}`.catch(() => {});
        await Promise.all([...pools.values(), admin].map((s) => s.end({ timeout: 1 })));
      },
    };
  },
});

const signal = (): AbortSignal => new AbortController().signal;

test.serial('postgres: createLeaseBackend builds it, and the epoch survives a new backend and pool', async (t) => {
  const [sqlA, sqlB] = [await connect(), await connect()];
  try {
    const name = `leader-${randomBytes(6).toString('hex')}`;
    const a = createLeaseBackend({ backend: 'postgres', name }, { logger, postgres: sqlA });
    t.true(a instanceof PostgresLease);
    const g1 = await a.tryAcquire('node-a', 10_000, signal(), { apiUrl: 'http://a' });
    if (!g1) return t.fail('not granted');
    const [stored] = await sqlA<{ kind: string; url: string }[]>`
      SELECT jsonb_typeof(meta) AS kind, meta->>'apiUrl' AS url FROM lease WHERE name = ${name}`;
    t.deepEqual(stored, { kind: 'object', url: 'http://a' }, 'meta is a jsonb object, not a JSON string');
    await a.release('node-a', g1);
    const b = createLeaseBackend({ backend: 'postgres', name }, { logger, postgres: sqlB });
    const g2 = await b.tryAcquire('node-b', 10_000, signal());
    t.true((g2?.epoch ?? 0n) > g1.epoch);
    const [row] = await sqlA<{ epoch: string; holder: string }[]>`SELECT epoch::text, holder FROM lease WHERE name = ${name}`;
    t.deepEqual(row, { epoch: g2?.epoch.toString(), holder: 'node-b' }, 'the row holds the epoch as the server counted it');
    t.throws(() => createLeaseBackend({ backend: 'postgres' }, { logger }), { message: /PostgreSQL connection/ });
  } finally {
    await Promise.all([sqlA.end(), sqlB.end()]);
  }
});

test.serial("postgres: expiry is judged by the server's clock, not the caller's", async (t) => {
  const sql = await connect();
  try {
    const name = `leader-${randomBytes(6).toString('hex')}`;
    const a = new PostgresLease({ name }, { sql, logger });
    const g = await a.tryAcquire('node-a', 60_000, signal());
    if (!g) return t.fail('not granted');
    // Move the expiry into the past on the server: the lease is free although no local TTL ran out.
    await sql`UPDATE lease SET expires_at = now() - interval '1 second' WHERE name = ${name}`;
    t.is(await a.current(signal()), null);
    t.is(await a.renew('node-a', g, 60_000, signal()), null, 'an expired grant does not renew');
    t.truthy(await a.tryAcquire('node-b', 60_000, signal()));
  } finally {
    await sql.end();
  }
});
