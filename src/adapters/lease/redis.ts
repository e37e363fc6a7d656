import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { NodeHealthRecord } from '../../types/health.js';
import type { Grant, LeaseBackend, LeaseHolder } from './interface.js';
import { defaultRedisLeaseOptions, type RedisLeaseOptions } from './options.js';
import { abortable, checkTtl, releaseLateGrant } from './util.js';

// All scripts take KEYS = [leader, epoch, meta]. `leader` holds the holder's id with the TTL (the
// seed's key), `epoch` the fencing counter (never expires), `meta` the holder's advertised fields.

/** ARGV = [id, ttlMs, ...metaFieldValuePairs]. Returns the new epoch as a string, or nil. */
const ACQUIRE = `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local epoch = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[3])
if #ARGV > 2 then
  redis.call('HSET', KEYS[3], unpack(ARGV, 3))
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
end
return tostring(epoch)`;

/**
 * The grant is live iff the leader key still names `id` and the epoch counter still equals the
 * grant's epoch: a later acquisition (even by `id` itself) moves the counter on.
 * ARGV = [id, epoch, ttlMs]. Returns 1 if renewed, 0 if not.
 */
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return 1`;

/** ARGV = [id, epoch]. Deletes the lease only if this grant is the live one, and tells the standbys (`<leader>:released`). */
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('PUBLISH', KEYS[1] .. ':released', ARGV[1])
return 1`;

/** Returns nil or [holder, epoch, [field, value, ...]], read atomically. */
const CURRENT = `
local holder = redis.call('GET', KEYS[1])
if not holder then return false end
return {holder, redis.call('GET', KEYS[2]) or '0', redis.call('HGETALL', KEYS[3])}`;

/**
 * Health records: one key per node (`<healthPrefix>:<id>`, the record as JSON, expiring with its
 * TTL) and a set of the ids that ever published (`<healthPrefix>:nodes`), pruned of expired ones
 * as it is read. KEYS = [nodes], ARGV = [healthPrefix, id, json, ttlMs].
 */
const PUBLISH_HEALTH = `
redis.call('SET', ARGV[1] .. ':' .. ARGV[2], ARGV[3], 'PX', ARGV[4])
redis.call('SADD', KEYS[1], ARGV[2])
return 1`;

/** KEYS = [nodes], ARGV = [healthPrefix]. Returns the live records' JSON. */
const HEALTH_RECORDS = `
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local record = redis.call('GET', ARGV[1] .. ':' .. id)
  if record then out[#out + 1] = record else redis.call('SREM', KEYS[1], id) end
end
return out`;

interface LeaseScripts {
  batonLeaseAcquire(leader: string, epoch: string, meta: string, id: string, ttlMs: number, ...metaKv: string[]): Promise<string | null>;
  batonLeaseRenew(leader: string, epoch: string, meta: string, id: string, grantEpoch: string, ttlMs: number): Promise<number>;
  batonLeaseRelease(leader: string, epoch: string, meta: string, id: string, grantEpoch: string): Promise<number>;
  batonLeaseCurrent(leader: string, epoch: string, meta: string): Promise<[string, string, string[]] | null>;
  batonHealthPublish(nodes: string, healthPrefix: string, id: string, json: string, ttlMs: number): Promise<number>;
  batonHealthRecords(nodes: string, healthPrefix: string): Promise<string[]>;
}

export interface RedisLeaseModules {
  /** A client of its own is best: a blocked or slow shared connection delays renewals. */
  redis: Redis;
  logger: Logger;
}

/**
 * The default lease backend: one Lua script per operation, so check-and-set never spans two
 * round trips (no GET-then-SET race), and the fencing epoch is an `INCR` in the same script.
 */
export class RedisLease implements LeaseBackend {
  private readonly redis: Redis & LeaseScripts;
  private readonly keys: [leader: string, epoch: string, meta: string];
  /** Where nodes' health records live: `<lease key>:health:<id>`. */
  private readonly healthPrefix: string;
  private readonly logger: Logger;

  constructor(opts: RedisLeaseOptions, modules: RedisLeaseModules) {
    const prefix = opts.prefix ?? defaultRedisLeaseOptions.prefix;
    const keys = opts.keys ?? { lease: `${prefix}:leader`, epoch: `${prefix}:epoch`, meta: `${prefix}:leader:meta` };
    this.keys = [keys.lease, keys.epoch, keys.meta];
    this.healthPrefix = `${keys.lease}:health`;
    this.logger = modules.logger;
    const redis = modules.redis;
    redis.defineCommand('batonLeaseAcquire', { numberOfKeys: 3, lua: ACQUIRE });
    redis.defineCommand('batonLeaseRenew', { numberOfKeys: 3, lua: RENEW });
    redis.defineCommand('batonLeaseRelease', { numberOfKeys: 3, lua: RELEASE });
    redis.defineCommand('batonLeaseCurrent', { numberOfKeys: 3, lua: CURRENT, readOnly: true });
    redis.defineCommand('batonHealthPublish', { numberOfKeys: 1, lua: PUBLISH_HEALTH });
    redis.defineCommand('batonHealthRecords', { numberOfKeys: 1, lua: HEALTH_RECORDS });
    this.redis = redis as Redis & LeaseScripts;
  }

  async tryAcquire(id: string, ttlMs: number, signal: AbortSignal, meta?: Record<string, string>): Promise<Grant | null> {
    checkTtl(ttlMs);
    const metaKv = Object.entries(meta ?? {}).flat();
    const epoch = await abortable(
      signal,
      () => this.redis.batonLeaseAcquire(...this.keys, id, ttlMs, ...metaKv),
      (late) => releaseLateGrant(this, id, late === null ? null : { epoch: BigInt(late) }, this.logger),
    );
    return epoch === null ? null : { epoch: BigInt(epoch) };
  }

  async renew(id: string, grant: Grant, ttlMs: number, signal: AbortSignal): Promise<Grant | null> {
    checkTtl(ttlMs);
    const ok = await abortable(signal, () => this.redis.batonLeaseRenew(...this.keys, id, grant.epoch.toString(), ttlMs));
    return ok === 1 ? grant : null;
  }

  async release(id: string, grant: Grant): Promise<void> {
    await this.redis.batonLeaseRelease(...this.keys, id, grant.epoch.toString());
  }

  /** Subscribes (on a connection of its own, as pub/sub needs) to the release notices the RELEASE script publishes. */
  watchReleases(signal: AbortSignal, onRelease: () => void): void {
    if (signal.aborted) return;
    const subscriber = this.redis.duplicate();
    subscriber.on('error', (err: Error) => this.logger.debug({ err: err.message }, 'Lease release subscription: Redis error (ioredis reconnects)'));
    subscriber.on('message', () => onRelease());
    subscriber
      .subscribe(`${this.keys[0]}:released`)
      .catch((err: Error) => this.logger.debug({ err: err.message }, 'Lease release subscription failed; standbys fall back to their retry interval'));
    signal.addEventListener('abort', () => subscriber.disconnect(), { once: true });
  }

  async current(signal: AbortSignal): Promise<LeaseHolder | null> {
    const reply = await abortable(signal, () => this.redis.batonLeaseCurrent(...this.keys));
    if (!reply) return null;
    const [holder, epoch, kv] = reply;
    const result: LeaseHolder = { holder, epoch: BigInt(epoch) };
    if (kv.length > 0) {
      result.meta = {};
      for (let i = 0; i + 1 < kv.length; i += 2) result.meta[kv[i] as string] = kv[i + 1] as string;
    }
    return result;
  }

  async publishHealth(record: NodeHealthRecord, ttlMs: number, signal: AbortSignal): Promise<void> {
    checkTtl(ttlMs);
    await abortable(signal, () => this.redis.batonHealthPublish(`${this.healthPrefix}:nodes`, this.healthPrefix, record.id, JSON.stringify(record), ttlMs));
  }

  async healthRecords(signal: AbortSignal): Promise<NodeHealthRecord[]> {
    const records = await abortable(signal, () => this.redis.batonHealthRecords(`${this.healthPrefix}:nodes`, this.healthPrefix));
    return records.map((json) => JSON.parse(json) as NodeHealthRecord);
  }
}
