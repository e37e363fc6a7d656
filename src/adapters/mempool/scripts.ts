/**
 * The mempool's Lua scripts. Each operation is one script, so no step of it can interleave with
 * another node's (the seed's faults: a lock checked once before many non-atomic steps, a
 * GET-then-SET dedupe). Every script takes the same KEYS, in the order of `mempoolKeys`, so it
 * declares every key it touches.
 *
 * Layout: `pending` ZSET hash → seq (FIFO); `inflight` HASH hash → "seq epoch missing";
 * `payloads` HASH hash → raw hex; `finalized` ZSET hash → block number; `dropped` ZSET
 * hash → drop order and `dropped:reasons` HASH hash → reason; `seq` the order counter;
 * `lastConfirmed` the last confirmed block number; `watcher:lock`/`watcher:epoch` the watcher lock; `<prefix>:epoch`
 * the leader fence. Nothing has a TTL: a transaction leaves only by being finalized, dropped or
 * trimmed from the bounded finalized/dropped history.
 *
 * Block numbers, seqs and miss counts are Lua numbers (doubles, exact below 2^53 — 285,000 years
 * of 1 ms blocks); epochs stay decimal strings and compare by length then bytes, as the Stream's
 * fence does.
 */

/** Key names; the field order is the order of every script's KEYS. */
export function mempoolKeys(prefix: string) {
  const p = `${prefix}:mempool`;
  return {
    seq: `${p}:seq`,
    pending: `${p}:pending`,
    inflight: `${p}:inflight`,
    payloads: `${p}:payloads`,
    finalized: `${p}:finalized`,
    dropped: `${p}:dropped`,
    droppedReasons: `${p}:dropped:reasons`,
    lastConfirmed: `${p}:lastConfirmed`,
    watcherLock: `${p}:watcher:lock`,
    /** The leader fence (the lease's epoch counter, raised by the Stream's fenced append). */
    leaderFence: `${prefix}:epoch`,
    /** The watcher lock's acquisition counter: with `watcherLock`, what a lock token is checked against. */
    watcherEpoch: `${p}:watcher:epoch`,
    /**
     * Held (pending or inflight) transactions by sender: a ZSET of `<from>:<nonce, 16 hex>:<hash>`
     * members, all scored 0, so one ZRANGEBYLEX lists a sender's nonces in order (the `pending`
     * nonce of `eth_getTransactionCount`).
     */
    bySender: `${p}:bySender`,
    /** hash → its `bySender` member, to remove it when the transaction is finalized or dropped. */
    senderOf: `${p}:senderOf`,
  };
}

/** The watcher lock as a Redis lease (`RedisLease` keys): the lock key is the seed's `<prefix>:mempool:watcher:lock`. */
export function watcherLeaseKeys(prefix: string) {
  const keys = mempoolKeys(prefix);
  return { lease: keys.watcherLock, epoch: keys.watcherEpoch, meta: `${keys.watcherLock}:meta` };
}

/**
 * What `confirmBlock` and `drop` take as `lockToken`: the holder's grant, checked by the scripts
 * against the lock's holder and epoch atomically with their writes.
 */
export function watcherLockToken(holder: string, epoch: bigint): string {
  return `${epoch}:${holder}`;
}

const PRELUDE = `
local K_SEQ, K_PENDING, K_INFLIGHT, K_PAYLOADS, K_FINALIZED, K_DROPPED, K_REASONS, K_LAST, K_LOCK, K_FENCE, K_LOCK_EPOCH, K_BY_SENDER, K_SENDER_OF =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13]

-- A transaction no longer held (finalized or dropped) leaves the sender index.
local function unindex(h)
  local member = redis.call('HGET', K_SENDER_OF, h)
  if member then
    redis.call('ZREM', K_BY_SENDER, member)
    redis.call('HDEL', K_SENDER_OF, h)
  end
end

-- The watcher lock is a Redis lease (holder in K_LOCK, acquisition count in K_LOCK_EPOCH): a token
-- "<epoch>:<holder>" is live only while both still say so.
local function isWatcher(token)
  local holder = redis.call('GET', K_LOCK)
  return holder and ((redis.call('GET', K_LOCK_EPOCH) or '') .. ':' .. holder) == token
end

-- {state, detail}: detail is the epoch, block number or reason.
local function status(h)
  if redis.call('ZSCORE', K_PENDING, h) then return {'pending', ''} end
  local inflight = redis.call('HGET', K_INFLIGHT, h)
  if inflight then return {'inflight', string.match(inflight, '^%d+ (%d+)')} end
  local block = redis.call('ZSCORE', K_FINALIZED, h)
  if block then return {'finalized', block} end
  local reason = redis.call('HGET', K_REASONS, h)
  if reason then return {'dropped', reason} end
  return {'unknown', ''}
end

-- Keeps the newest max members of a history ZSET (and their reasons).
local function trim(zset, max, reasons)
  local excess = redis.call('ZCARD', zset) - max
  if excess <= 0 then return end
  if reasons then
    local old = redis.call('ZRANGE', zset, 0, excess - 1)
    -- unpack is bounded by Lua's C stack (~8000 values): delete in chunks.
    for i = 1, #old, 1000 do redis.call('HDEL', reasons, unpack(old, i, math.min(i + 999, #old))) end
  end
  redis.call('ZREMRANGEBYRANK', zset, 0, excess - 1)
end

local function cmp(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end
`;

/** ARGV = [hash, raw, maxPending, senderMember ('' when unknown)]. Returns {added|duplicate|full, state, detail}. */
export const ADD =
  PRELUDE +
  `
local h = ARGV[1]
local current = status(h)
if current[1] ~= 'unknown' and current[1] ~= 'dropped' then return {'duplicate', current[1], current[2]} end
if redis.call('ZCARD', K_PENDING) >= tonumber(ARGV[3]) then return {'full', '', ''} end
if current[1] == 'dropped' then
  redis.call('ZREM', K_DROPPED, h)
  redis.call('HDEL', K_REASONS, h)
end
redis.call('ZADD', K_PENDING, redis.call('INCR', K_SEQ), h)
redis.call('HSET', K_PAYLOADS, h, ARGV[2])
if ARGV[4] and ARGV[4] ~= '' then
  redis.call('ZADD', K_BY_SENDER, 0, ARGV[4])
  redis.call('HSET', K_SENDER_OF, h, ARGV[4])
end
return {'added', '', ''}`;

/** ARGV = [max, epoch]. Returns {'ok', {hash, raw, ...}} or {'STALE_EPOCH', fence}. */
export const TAKE_BATCH =
  PRELUDE +
  `
local fence = redis.call('GET', K_FENCE)
if fence and cmp(fence, ARGV[2]) > 0 then return {'STALE_EPOCH', fence} end
local popped = redis.call('ZPOPMIN', K_PENDING, ARGV[1])
local out = {}
for i = 1, #popped, 2 do
  local h = popped[i]
  local raw = redis.call('HGET', K_PAYLOADS, h)
  if raw then
    redis.call('HSET', K_INFLIGHT, h, popped[i + 1] .. ' ' .. ARGV[2] .. ' 0')
    out[#out + 1] = h
    out[#out + 1] = raw
  end
end
return {'ok', out}`;

/** No ARGV. Returns {hash, "seq epoch missing", raw, ...} in no particular order. */
export const INFLIGHT =
  PRELUDE +
  `
local all = redis.call('HGETALL', K_INFLIGHT)
local out = {}
for i = 1, #all, 2 do
  local raw = redis.call('HGET', K_PAYLOADS, all[i])
  if raw then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
    out[#out + 1] = raw
  end
end
return out`;

/**
 * ARGV = [lockToken, blockNumber, maxNonConfirmations, maxFinalized, txHash...].
 * Returns {confirmed|already|gap|notWatcher, lastConfirmed, finalizedCount, {hash, raw, ...requeued}}.
 *
 * A transaction of ours found in the block is finalized wherever it is: inflight (the usual
 * case), pending (an EL kept it from an earlier submission) or dropped (the EL changed its mind).
 * Requeued transactions keep their seq, so they are first in the next batch; they may push
 * `pending` past maxPending, because refusing them would lose them.
 */
export const CONFIRM =
  PRELUDE +
  `
if not isWatcher(ARGV[1]) then return {'notWatcher', '', 0, {}} end
local n = tonumber(ARGV[2])
local last = redis.call('GET', K_LAST)
if last then
  local l = tonumber(last)
  if n <= l then return {'already', last, 0, {}} end
  if n > l + 1 then return {'gap', last, 0, {}} end
end
local finalized = 0
for i = 5, #ARGV do
  local h = ARGV[i]
  if redis.call('HDEL', K_INFLIGHT, h) == 1 or redis.call('ZREM', K_PENDING, h) == 1 or redis.call('ZREM', K_DROPPED, h) == 1 then
    redis.call('HDEL', K_REASONS, h)
    redis.call('HDEL', K_PAYLOADS, h)
    unindex(h)
    redis.call('ZADD', K_FINALIZED, ARGV[2], h)
    finalized = finalized + 1
  end
end
local maxMissing = tonumber(ARGV[3])
local requeued = {}
local inflight = redis.call('HGETALL', K_INFLIGHT)
for i = 1, #inflight, 2 do
  local h = inflight[i]
  local seq, epoch, missing = string.match(inflight[i + 1], '^(%d+) (%d+) (%d+)$')
  missing = tonumber(missing) + 1
  if missing >= maxMissing then
    redis.call('HDEL', K_INFLIGHT, h)
    redis.call('ZADD', K_PENDING, seq, h)
    requeued[#requeued + 1] = h
    requeued[#requeued + 1] = redis.call('HGET', K_PAYLOADS, h) or ''
  else
    redis.call('HSET', K_INFLIGHT, h, seq .. ' ' .. epoch .. ' ' .. missing)
  end
end
trim(K_FINALIZED, tonumber(ARGV[4]))
trim(K_DROPPED, tonumber(ARGV[4]), K_REASONS)
redis.call('SET', K_LAST, ARGV[2])
return {'confirmed', ARGV[2], finalized, requeued}`;

/** ARGV = [lockToken, hash, reason, maxFinalized]. Returns dropped | notFound | notWatcher. */
export const DROP =
  PRELUDE +
  `
if not isWatcher(ARGV[1]) then return 'notWatcher' end
local h = ARGV[2]
if redis.call('HDEL', K_INFLIGHT, h) == 0 and redis.call('ZREM', K_PENDING, h) == 0 then return 'notFound' end
redis.call('HDEL', K_PAYLOADS, h)
unindex(h)
redis.call('ZADD', K_DROPPED, redis.call('INCR', K_SEQ), h)
redis.call('HSET', K_REASONS, h, ARGV[3])
trim(K_DROPPED, tonumber(ARGV[4]), K_REASONS)
return 'dropped'`;

/** ARGV = [from]. Returns the `bySender` members of that sender, by nonce. */
export const SENDER_NONCES =
  PRELUDE +
  `
return redis.call('ZRANGEBYLEX', K_BY_SENDER, '[' .. ARGV[1] .. ':', '[' .. ARGV[1] .. ';')`;

/** ARGV = [hash]. Returns the raw transaction while it is held (pending or inflight), else false. */
export const HELD_RAW =
  PRELUDE +
  `
local h = ARGV[1]
if redis.call('ZSCORE', K_PENDING, h) or redis.call('HEXISTS', K_INFLIGHT, h) == 1 then return redis.call('HGET', K_PAYLOADS, h) end
return false`;

/** ARGV = [hash]. Returns {state, detail}. */
export const STATUS =
  PRELUDE +
  `
return status(ARGV[1])`;
