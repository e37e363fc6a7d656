import test from 'ava';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Elector } from '../../src/adapters/lease/elector.js';
import type { Grant, LeaseBackend } from '../../src/adapters/lease/interface.js';
import { RedisLease } from '../../src/adapters/lease/redis.js';
import { deleteRedisPrefix, REDIS_ADDR, uniqueRedisPrefix } from '../helpers/services.js';

/**
 * The Elector library over the real Redis lease. Faults in renewals are injected by wrapping the
 * real backend (`renew` hangs or throws on demand); acquire, release and expiry are Redis's own.
 */
class FaultyRenewals implements LeaseBackend {
  mode: 'ok' | 'hang' | 'fail' = 'ok';
  constructor(private readonly inner: LeaseBackend) {}
  tryAcquire(id: string, ttlMs: number, signal: AbortSignal, meta?: Record<string, string>) {
    return this.inner.tryAcquire(id, ttlMs, signal, meta);
  }
  renew(id: string, grant: Grant, ttlMs: number, signal: AbortSignal) {
    if (this.mode === 'hang') return new Promise<Grant | null>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    if (this.mode === 'fail') return Promise.reject(new Error('injected renew failure'));
    return this.inner.renew(id, grant, ttlMs, signal);
  }
  release(id: string, grant: Grant) {
    return this.inner.release(id, grant);
  }
  current(signal: AbortSignal) {
    return this.inner.current(signal);
  }
}

const logger = pino({ level: 'silent' });
const redis = new Redis(`redis://${REDIS_ADDR}`);
const prefixes: string[] = [];

function backend(): { lease: RedisLease; prefix: string } {
  const prefix = uniqueRedisPrefix();
  prefixes.push(prefix);
  return { lease: new RedisLease({ prefix }, { redis, logger }), prefix };
}

test.after.always(async () => {
  for (const prefix of prefixes) {
    await deleteRedisPrefix(redis, prefix);
  }
  redis.disconnect();
});

test('acquires with an epoch, publishes meta, and stop() releases so a standby gets in at once', async (t) => {
  const { lease } = backend();
  const a = new Elector(lease, { identity: 'a', leaseDurationMs: 5_000, retryIntervalMs: 50, meta: { apiUrl: 'http://a' } });
  const b = new Elector(lease, { identity: 'b', leaseDurationMs: 5_000, retryIntervalMs: 50 });
  a.start();
  const epochA = await a.waitForLeadership(AbortSignal.timeout(5_000));
  t.true(a.isLeader());
  t.deepEqual(await lease.current(AbortSignal.timeout(1_000)), { holder: 'a', epoch: epochA, meta: { apiUrl: 'http://a' } });
  b.start();
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.false(b.isLeader(), 'b waits while a holds the lease');
  const released = Date.now();
  await a.stop();
  t.false(a.isLeader());
  const epochB = await b.waitForLeadership(AbortSignal.timeout(5_000));
  t.true(Date.now() - released < 1_000, 'b acquired well before the 5 s TTL could expire');
  t.true(epochB > epochA, 'the epoch grows with the new holder');
  await b.stop();
});

test('a hung renew demotes the holder by its own clock, before the lease expires on Redis', async (t) => {
  const { lease } = backend();
  const faulty = new FaultyRenewals(lease);
  const ttl = 1_000;
  const a = new Elector(faulty, { identity: 'a', leaseDurationMs: ttl, renewIntervalMs: 300, retryIntervalMs: 5_000 });
  a.start();
  await a.waitForLeadership(AbortSignal.timeout(5_000));
  faulty.mode = 'hang';
  const lost = await new Promise<{ at: number; reason: string }>((resolve) => a.once('lost', ({ reason }) => resolve({ at: Date.now(), reason })));
  const current = await lease.current(AbortSignal.timeout(1_000));
  t.is(current?.holder, 'a', 'Redis still shows the lease: the holder demoted itself first');
  t.regex(lost.reason, /deadline/);
  t.false(a.isLeader());
  await a.stop();
});

test('maxRenewFailures consecutive renew errors demote the holder', async (t) => {
  const { lease } = backend();
  const faulty = new FaultyRenewals(lease);
  const a = new Elector(faulty, { identity: 'a', leaseDurationMs: 10_000, renewIntervalMs: 100, retryIntervalMs: 5_000, maxRenewFailures: 3 });
  a.start();
  await a.waitForLeadership(AbortSignal.timeout(5_000));
  faulty.mode = 'fail';
  const { reason } = await new Promise<{ reason: string }>((resolve) => a.once('lost', resolve));
  t.regex(reason, /3 consecutive renew failures/);
  await a.stop();
});

test('a renew refused because another node took the lease demotes at once', async (t) => {
  const { lease, prefix } = backend();
  const a = new Elector(lease, { identity: 'a', leaseDurationMs: 5_000, renewIntervalMs: 100, retryIntervalMs: 5_000 });
  a.start();
  await a.waitForLeadership(AbortSignal.timeout(5_000));
  await redis.del(`${prefix}:leader`); // the lease vanishes (as after a Redis failover that lost it)
  const intruder = await lease.tryAcquire('b', 5_000, AbortSignal.timeout(1_000));
  t.truthy(intruder);
  const { reason } = await new Promise<{ reason: string }>((resolve) => a.once('lost', resolve));
  t.regex(reason, /taken or expired/);
  t.false(a.isLeader());
  await a.stop();
  t.is((await lease.current(AbortSignal.timeout(1_000)))?.holder, 'b', 'stopping a demoted elector does not release the new holder');
});

test('campaignGate keeps a node out of the race, with its reason, until it says yes', async (t) => {
  const { lease } = backend();
  let blocker: string | null = 'EL unreachable';
  const elector = new Elector(lease, { identity: 'gated', leaseDurationMs: 1_000, retryIntervalMs: 50, campaignGate: () => blocker }, logger);
  elector.start();
  await new Promise((r) => setTimeout(r, 300));
  t.false(elector.isLeader());
  t.is(elector.notCampaigningBecause(), 'EL unreachable');
  t.is(await lease.current(AbortSignal.timeout(1_000)), null, 'nobody took the lease');
  blocker = null;
  await elector.waitForLeadership(AbortSignal.timeout(2_000));
  t.is(elector.notCampaigningBecause(), null);
  await elector.stop();
});

test('campaignNow makes a slow-retrying standby win the lease the holder releases', async (t) => {
  // Wrapped: the wrapper has no watchReleases, so only campaignNow can make the target quick here.
  const lease = new FaultyRenewals(backend().lease);
  const holder = new Elector(lease, { identity: 'holder', leaseDurationMs: 2_000 }, logger);
  const target = new Elector(lease, { identity: 'target', leaseDurationMs: 2_000, retryIntervalMs: 60_000 }, logger);
  holder.start();
  await holder.waitForLeadership(AbortSignal.timeout(2_000));
  target.start();
  await new Promise((r) => setTimeout(r, 100)); // the target's first attempt failed; its next is a minute away
  target.campaignNow(2_000);
  const releasedAt = performance.now();
  await holder.stepDown('transfer', 2_000);
  await target.waitForLeadership(AbortSignal.timeout(1_000));
  t.true(performance.now() - releasedAt < 1_000, 'took over within the eager window, not after the retry interval');
  await Promise.all([holder.stop(), target.stop()]);
});

test('release notices: a standby on a minute-long retry interval takes a released lease at once; the holder that stepped down stays out for its hold-off', async (t) => {
  const { lease } = backend();
  const holder = new Elector(lease, { identity: 'holder', leaseDurationMs: 2_000, retryIntervalMs: 50 }, logger);
  const standby = new Elector(lease, { identity: 'standby', leaseDurationMs: 2_000, retryIntervalMs: 60_000 }, logger);
  holder.start();
  await holder.waitForLeadership(AbortSignal.timeout(2_000));
  standby.start();
  await new Promise((r) => setTimeout(r, 300)); // the standby's first attempt failed; its next is a minute away
  const releasedAt = performance.now();
  await holder.stepDown('handoff', 5_000);
  await standby.waitForLeadership(AbortSignal.timeout(2_000));
  t.log(`released → standby leads: ${Math.round(performance.now() - releasedAt)} ms`);
  t.true(performance.now() - releasedAt < 1_000, 'woken by the release notice, not by its retry interval');
  await standby.stop();
  await new Promise((r) => setTimeout(r, 300));
  t.false(holder.isLeader(), 'the notice of the standby’s release does not end the holder’s hold-off');
  await holder.stop();
});
