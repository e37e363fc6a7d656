import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Grant, LeaseBackend, LeaseHolder } from '../lease/interface.js';
import { abortable, checkTtl, releaseLateGrant } from '../lease/util.js';
import { defaultMempoolOptions, type MempoolOptions } from './options.js';
import { mempoolKeys } from './scripts.js';

// KEYS = [lock, epoch]. The lock (`<prefix>:mempool:watcher:lock`, the seed's key) holds the token
// "<epoch>:<id>" with the TTL; `epoch` counts acquisitions and never expires. The mempool's
// confirm and drop scripts compare the lock with the caller's token in the same script as their
// writes, so a watcher whose lock lapsed (paused, partitioned) cannot write, even late.

/** ARGV = [id, ttlMs]. Returns the new epoch as a string, or nil if the lock is held. */
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], epoch .. ':' .. ARGV[1], 'PX', ARGV[2])
return tostring(epoch)`;

/** ARGV = [token, ttlMs]. 1 if extended, 0 if the lock is gone or someone else's. */
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** ARGV = [token]. Deletes the lock only if it is still this token's. */
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

interface WatcherLockScripts {
  batonWatcherAcquire(lock: string, epoch: string, id: string, ttlMs: number): Promise<string | null>;
  batonWatcherRenew(lock: string, epoch: string, token: string, ttlMs: number): Promise<number>;
  batonWatcherRelease(lock: string, epoch: string, token: string): Promise<number>;
}

/**
 * The mempool watcher lock as a `LeaseBackend`, so the Elector drives it (renewal timer, local
 * deadline, release on stop) exactly as it drives the leader lease. It is not `RedisLease` because
 * that one fixes its key names (`<prefix>:leader`) and keeps a meta hash the watcher does not need;
 * the watcher's key is the seed's `<prefix>:mempool:watcher:lock` and its value is the token the
 * mempool scripts check.
 */
export class WatcherLock implements LeaseBackend {
  private readonly redis: Redis & WatcherLockScripts;
  private readonly keys: [lock: string, epoch: string];
  private readonly logger: Logger;

  constructor(opts: Pick<MempoolOptions, 'prefix'>, modules: { redis: Redis; logger: Logger }) {
    const lock = mempoolKeys(opts.prefix ?? defaultMempoolOptions.prefix).watcherLock;
    this.keys = [lock, lock.replace(/:lock$/, ':epoch')];
    this.logger = modules.logger;
    const redis = modules.redis;
    redis.defineCommand('batonWatcherAcquire', { numberOfKeys: 2, lua: ACQUIRE });
    redis.defineCommand('batonWatcherRenew', { numberOfKeys: 2, lua: RENEW });
    redis.defineCommand('batonWatcherRelease', { numberOfKeys: 2, lua: RELEASE });
    this.redis = redis as Redis & WatcherLockScripts;
  }

  /** The value the lock holds for this grant: what `confirmBlock` and `drop` take as `lockToken`. */
  static token(id: string, grant: Grant): string {
    return `${grant.epoch}:${id}`;
  }

  async tryAcquire(id: string, ttlMs: number, signal: AbortSignal): Promise<Grant | null> {
    checkTtl(ttlMs);
    const epoch = await abortable(
      signal,
      () => this.redis.batonWatcherAcquire(...this.keys, id, ttlMs),
      (late) => releaseLateGrant(this, id, late === null ? null : { epoch: BigInt(late) }, this.logger),
    );
    return epoch === null ? null : { epoch: BigInt(epoch) };
  }

  async renew(id: string, grant: Grant, ttlMs: number, signal: AbortSignal): Promise<Grant | null> {
    checkTtl(ttlMs);
    const ok = await abortable(signal, () => this.redis.batonWatcherRenew(...this.keys, WatcherLock.token(id, grant), ttlMs));
    return ok === 1 ? grant : null;
  }

  async release(id: string, grant: Grant): Promise<void> {
    await this.redis.batonWatcherRelease(...this.keys, WatcherLock.token(id, grant));
  }

  async current(signal: AbortSignal): Promise<LeaseHolder | null> {
    const token = await abortable(signal, () => this.redis.get(this.keys[0]));
    if (token === null) return null;
    const colon = token.indexOf(':');
    return { holder: token.slice(colon + 1), epoch: BigInt(token.slice(0, colon)) };
  }
}
