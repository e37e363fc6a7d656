import test from 'ava';
import { Redis } from 'ioredis';
import { type BatonProcess, startBaton, waitFor, waitForStandby } from './batonProcess.js';
import { createDatabase, deleteRedisPrefix, REDIS_ADDR, uniqueRedisPrefix } from './services.js';

export interface TwoLeadersOptions {
  /** `--lease-ttl` of both nodes: each test file picks it for what it measures against it. */
  leaseTtlMs: number;
  /** Flags both nodes get after the shared ones (e.g. `--admin-token`). */
  args?: string[];
  /** The test file's own check that node-a leads; `test.before` waits (90 s) until it holds. */
  leads(node: BatonProcess): Promise<unknown>;
}

/** The pair and what it shares; `nodes` is the tests' to replace (a restart) or clear (a node they stopped). */
export interface TwoLeaders {
  /** Key prefix of both nodes in the shared Redis (lease, Stream), deleted after the tests. */
  readonly prefix: string;
  /** A connection of the test's own to the shared Redis. */
  readonly redis: Redis;
  /** The pair's database; set once `test.before` has run. */
  readonly db: Awaited<ReturnType<typeof createDatabase>>;
  readonly nodes: Record<'a' | 'b', BatonProcess | null>;
  /** Starts node-`id` (instance id `node-a`/`node-b`), on `dataDir` to restart it on its data. */
  start(id: 'a' | 'b', dataDir?: string): Promise<BatonProcess>;
}

/**
 * Registers `test.before`/`test.after.always` for two leader-capable nodes on one Redis and one
 * fresh PostgreSQL database, each with its own embedded EL: node-a starts and leads, then node-b
 * starts and is a healthy standby. Afterwards every node still in `nodes` is stopped, the Redis
 * keys are deleted and the database is dropped.
 */
export function twoLeaders(opts: TwoLeadersOptions): TwoLeaders {
  const prefix = uniqueRedisPrefix();
  const redis = new Redis(`redis://${REDIS_ADDR}`);
  let db: TwoLeaders['db'] | undefined;
  const nodes: TwoLeaders['nodes'] = { a: null, b: null };
  const start = (id: 'a' | 'b', dataDir?: string): Promise<BatonProcess> =>
    startBaton({
      dataDir,
      args: [
        '--role',
        'leader',
        '--instance-id',
        `node-${id}`,
        '--redis-addr',
        REDIS_ADDR,
        '--redis-prefix',
        prefix,
        '--postgres-url',
        pair.db.url,
        '--lease-ttl',
        `${opts.leaseTtlMs}ms`,
        ...(opts.args ?? []),
      ],
    });
  const pair: TwoLeaders = {
    prefix,
    redis,
    get db() {
      if (!db) throw new Error('the two-leader database is made in test.before');
      return db;
    },
    nodes,
    start,
  };

  test.before(async () => {
    db = await createDatabase();
    nodes.a = await start('a');
    await waitFor('node-a leads', () => opts.leads(nodes.a!), 90_000);
    nodes.b = await start('b');
    await waitForStandby(nodes.b!, 'node-a');
  });

  test.after.always(async () => {
    await Promise.all(Object.values(nodes).map((n) => n?.stop()));
    await deleteRedisPrefix(redis, prefix);
    redis.disconnect();
    await db?.drop();
  });

  return pair;
}
