import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import lockfile from 'proper-lockfile';
import { FileLease, type LeaseBackend, LeaseError, RedisLease } from '../../src/adapters/lease/index.js';
import { deleteRedisPrefix, REDIS_ADDR } from '../helpers/services.js';
import { leaseConformance } from './leaseConformance.js';

const logger = pino({ level: 'silent' });
const REDIS_URL = `redis://${REDIS_ADDR}`;

leaseConformance({
  name: 'redis',
  async create() {
    const prefix = `baton-test:${randomBytes(6).toString('hex')}`;
    const clients = new Map<LeaseBackend, Redis>();
    const admin = new Redis(REDIS_URL);
    return {
      backend() {
        const redis = new Redis(REDIS_URL);
        const backend = new RedisLease({ prefix }, { redis, logger });
        clients.set(backend, redis);
        return backend;
      },
      async stall(backend) {
        // A blocking pop holds the backend's connection; Redis serves its next commands only after it.
        const redis = clients.get(backend);
        if (!redis) throw new Error('unknown backend');
        const key = `${prefix}:stall`;
        redis.blpop(key, 0).catch(() => {});
        return async () => {
          await admin.lpush(key, 'go');
        };
      },
      async close() {
        await deleteRedisPrefix(admin, prefix);
        await Promise.all([...clients.values(), admin].map((c) => c.quit()));
      },
    };
  },
});

leaseConformance({
  name: 'file',
  sharesHealth: false,
  async create() {
    const dir = await mkdtemp(join(tmpdir(), 'baton-lease-'));
    const path = join(dir, 'nested', 'lease.json');
    return {
      backend: () => new FileLease({ path }, { logger }),
      async stall() {
        // Holding the critical-section lock from outside makes every request wait for it.
        await mkdir(dirname(path), { recursive: true });
        return lockfile.lock(path, { realpath: false });
      },
      close: () => rm(dir, { recursive: true, force: true }),
    };
  },
});

const signal = (): AbortSignal => new AbortController().signal;

test.serial('redis: a release is announced to watchers at once; a refused release (stale grant) is not', async (t) => {
  const prefix = `baton-test:${randomBytes(6).toString('hex')}`;
  const [holderClient, watcherClient] = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
  const holder = new RedisLease({ prefix }, { redis: holderClient, logger });
  const watcher = new RedisLease({ prefix }, { redis: watcherClient, logger });
  const stop = new AbortController();
  const notices: number[] = [];
  watcher.watchReleases(stop.signal, () => notices.push(performance.now()));
  try {
    await new Promise((r) => setTimeout(r, 200)); // the subscription is up
    const grant = (await holder.tryAcquire('a', 5_000, signal()))!;
    await holder.release('a', { epoch: grant.epoch + 1n });
    await new Promise((r) => setTimeout(r, 200));
    t.deepEqual(notices, [], 'a release refused for a stale grant announces nothing');
    const releasedAt = performance.now();
    await holder.release('a', grant);
    await new Promise((r) => setTimeout(r, 200));
    t.is(notices.length, 1, 'one notice for one release');
    t.true(notices[0]! - releasedAt < 100, 'the notice arrives at once');
  } finally {
    stop.abort();
    await deleteRedisPrefix(holderClient, prefix);
    await Promise.all([holderClient.quit(), watcherClient.quit()]);
  }
});

async function withLeaseDir(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'baton-lease-'));
  try {
    await fn(join(dir, 'lease.json'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test.serial("file: a crashed process's critical-section lock blocks others for at most lockStaleMs", (t) =>
  withLeaseDir(async (path) => {
    // A lock directory as left by a process killed inside its read-modify-write, just now.
    await mkdir(`${path}.lock`);
    const lease = new FileLease({ path, lockStaleMs: 2_000 }, { logger });
    const started = performance.now();
    const g = await lease.tryAcquire('node-a', 10_000, signal());
    const waited = performance.now() - started;
    t.truthy(g);
    t.true(waited >= 1_500 && waited < 3_000, `waited ${waited.toFixed(0)} ms for a 2 s stale lock`);

    // One abandoned long ago is taken over at once.
    await lease.release('node-a', g ?? { epoch: 0n });
    await mkdir(`${path}.lock`);
    const old = new Date(Date.now() - 60_000);
    await utimes(`${path}.lock`, old, old);
    const t0 = performance.now();
    t.truthy(await lease.tryAcquire('node-b', 10_000, signal()));
    t.true(performance.now() - t0 < 500, 'an old stale lock does not block');
  }),
);

test.serial('file: a corrupt lease file is reported, never overwritten', (t) =>
  withLeaseDir(async (path) => {
    await writeFile(path, '{ not json');
    const lease = new FileLease({ path }, { logger });
    const err = await t.throwsAsync(lease.tryAcquire('node-a', 1_000, signal()), { instanceOf: LeaseError });
    t.is(err?.code, 'LEASE_CORRUPT');
    const again = await t.throwsAsync(lease.current(signal()), { instanceOf: LeaseError });
    t.is(again?.code, 'LEASE_CORRUPT');
  }),
);

test.serial('file: mutual exclusion holds across processes', (t) =>
  withLeaseDir(async (path) => {
    const fixture = new URL('./fixtures/fileLeaseContender.ts', import.meta.url).pathname;
    // Contenders start racing together once all have booted (tsx start-up takes about a second).
    const until = Date.now() + 4_000;
    const outputs = await Promise.all(
      Array.from({ length: 4 }, (_, i) => promisify(execFile)(process.execPath, ['--import=tsx', fixture, path, `proc-${i}`, String(until)])),
    );
    const tenures = outputs
      .flatMap((o) => o.stdout.trim().split('\n').filter(Boolean))
      .map((line) => JSON.parse(line) as { id: string; epoch: string; from: number; to: number })
      .sort((x, y) => x.from - y.from);
    t.true(tenures.length >= 10, `only ${tenures.length} tenures`);
    t.true(new Set(tenures.map((x) => x.id)).size >= 2, 'more than one process held the lease');
    for (let i = 1; i < tenures.length; i++) {
      const [prev, cur] = [tenures[i - 1], tenures[i]];
      if (!prev || !cur) continue;
      t.true(cur.from >= prev.to, `${cur.id} (epoch ${cur.epoch}) acquired while ${prev.id} (epoch ${prev.epoch}) held`);
      t.true(BigInt(cur.epoch) > BigInt(prev.epoch), `epoch ${cur.epoch} after ${prev.epoch}`);
    }
  }),
);
