/**
 * The mempool's Lua scripts. Each operation is one script, so no step of it can interleave with
 * another node's (the seed's faults: a lock checked once before many non-atomic steps, a
 * GET-then-SET dedupe). Every script takes the same KEYS, in the order of `mempoolKeys`, so it
 * declares every key it touches.
 *
 * Layout: `pending` ZSET hash → seq (FIFO); `queued` ZSET hash → when it was queued (ms, Redis
 * clock), its reason in `dropped:reasons`; `inflight` HASH hash → "seq epoch missing";
 * `payloads` HASH hash → raw hex; `finalized` ZSET hash → block number; `dropped` ZSET
 * hash → drop order and `dropped:reasons` HASH hash → reason; `seq` the order counter;
 * `lastConfirmed` the last confirmed block number; `watcher:lock`/`watcher:epoch` the watcher lock; `<prefix>:epoch`
 * the leader fence. Nothing has a Redis TTL: a transaction leaves only by being finalized, dropped
 * (a queued one also by outliving the lifetime, `EXPIRE_QUEUED`) or trimmed from the bounded
 * finalized/dropped history.
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
    /**
     * Held transactions waiting for a lower nonce of their sender (a nonce gap): never taken into a
     * batch, so never resubmitted, until the gap is filled (promoted to `pending`) or they expire.
     */
    queued: `${p}:queued`,
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
local K_SEQ, K_PENDING, K_INFLIGHT, K_PAYLOADS, K_FINALIZED, K_DROPPED, K_REASONS, K_LAST, K_LOCK, K_FENCE, K_LOCK_EPOCH, K_BY_SENDER, K_SENDER_OF, K_QUEUED =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14]

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
  if redis.call('ZSCORE', K_QUEUED, h) then return {'queued', redis.call('HGET', K_REASONS, h) or ''} end
  local inflight = redis.call('HGET', K_INFLIGHT, h)
  if inflight then return {'inflight', string.match(inflight, '^%d+ (%d+)')} end
  local block = redis.call('ZSCORE', K_FINALIZED, h)
  if block then return {'finalized', block} end
  if redis.call('ZSCORE', K_DROPPED, h) then return {'dropped', redis.call('HGET', K_REASONS, h) or ''} end
  return {'unknown', ''}
end

-- Nonces are 16 hex digits in the sender index; Lua reads them exactly below 2^53.
local function senderNonce(member)
  return tonumber(string.match(member, ':(%x+):'), 16)
end

-- Once a sender's nonce is held (just added) or finalized, its queued transactions right after it
-- are behind no gap: nonce + 1, nonce + 2, … go back to pending (behind everything already there)
-- as long as each next nonce is held. Two transactions of one nonce (a replacement) both count.
local function promoteAfter(from, nonce)
  local expected = nonce + 1
  for _, member in ipairs(redis.call('ZRANGEBYLEX', K_BY_SENDER, '(' .. from .. ':' .. string.format('%016x', nonce), '[' .. from .. ';')) do
    local n = senderNonce(member)
    if n > expected then return end
    local h = string.sub(member, #from + 19)
    if redis.call('ZREM', K_QUEUED, h) == 1 then
      redis.call('HDEL', K_REASONS, h)
      redis.call('ZADD', K_PENDING, redis.call('INCR', K_SEQ), h)
    end
    expected = n + 1
  end
end

-- Moves a held transaction to dropped with a reason; false if it is not held.
local function dropHeld(h, reason)
  if redis.call('HDEL', K_INFLIGHT, h) == 0 and redis.call('ZREM', K_PENDING, h) == 0 and redis.call('ZREM', K_QUEUED, h) == 0 then return false end
  redis.call('HDEL', K_PAYLOADS, h)
  unindex(h)
  redis.call('ZADD', K_DROPPED, redis.call('INCR', K_SEQ), h)
  redis.call('HSET', K_REASONS, h, reason)
  return true
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

/**
 * ARGV = [hash, raw, maxPending, senderMember ('' when unknown), maxPerSender].
 * Returns {added|duplicate|full|senderFull, state, detail}. A sender's held transactions (pending,
 * queued, inflight) are bounded by maxPerSender; an added one fills a nonce gap if its sender has
 * queued transactions right after it, and those go back to pending.
 */
export const ADD =
  PRELUDE +
  `
local h = ARGV[1]
local current = status(h)
if current[1] ~= 'unknown' and current[1] ~= 'dropped' then return {'duplicate', current[1], current[2]} end
if redis.call('ZCARD', K_PENDING) >= tonumber(ARGV[3]) then return {'full', '', ''} end
local member = ARGV[4]
local from = member ~= '' and string.match(member, '^([^:]+):') or nil
if from and redis.call('ZLEXCOUNT', K_BY_SENDER, '[' .. from .. ':', '[' .. from .. ';') >= tonumber(ARGV[5]) then return {'senderFull', '', ''} end
if current[1] == 'dropped' then
  redis.call('ZREM', K_DROPPED, h)
  redis.call('HDEL', K_REASONS, h)
end
redis.call('ZADD', K_PENDING, redis.call('INCR', K_SEQ), h)
redis.call('HSET', K_PAYLOADS, h, ARGV[2])
if from then
  redis.call('ZADD', K_BY_SENDER, 0, member)
  redis.call('HSET', K_SENDER_OF, h, member)
  promoteAfter(from, senderNonce(member))
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
 * case), pending or queued (an EL kept it from an earlier submission) or dropped (the EL changed
 * its mind); its sender's queued transactions right after it go back to pending.
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
  if redis.call('HDEL', K_INFLIGHT, h) == 1 or redis.call('ZREM', K_PENDING, h) == 1 or redis.call('ZREM', K_QUEUED, h) == 1
    or redis.call('ZREM', K_DROPPED, h) == 1 then
    redis.call('HDEL', K_REASONS, h)
    redis.call('HDEL', K_PAYLOADS, h)
    local member = redis.call('HGET', K_SENDER_OF, h)
    unindex(h)
    if member then promoteAfter(string.match(member, '^([^:]+):'), senderNonce(member)) end
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
if not dropHeld(ARGV[2], ARGV[3]) then return 'notFound' end
trim(K_DROPPED, tonumber(ARGV[4]), K_REASONS)
return 'dropped'`;

/**
 * ARGV = [lockToken, hash, reason, maxQueued, fullReason, maxFinalized]. A pending transaction
 * waits in queued with `reason` (its nonce gap); with maxQueued already queued it is dropped with
 * `fullReason` instead, so the gaps of many senders cannot grow the pool without bound.
 * Returns queued | dropped | notFound (not pending: taken or gone meanwhile) | notWatcher.
 */
export const QUEUE =
  PRELUDE +
  `
if not isWatcher(ARGV[1]) then return 'notWatcher' end
local h = ARGV[2]
if not redis.call('ZSCORE', K_PENDING, h) then return 'notFound' end
if redis.call('ZCARD', K_QUEUED) >= tonumber(ARGV[4]) then
  dropHeld(h, ARGV[5])
  trim(K_DROPPED, tonumber(ARGV[6]), K_REASONS)
  return 'dropped'
end
redis.call('ZREM', K_PENDING, h)
local now = redis.call('TIME')
redis.call('ZADD', K_QUEUED, now[1] * 1000 + math.floor(now[2] / 1000), h)
redis.call('HSET', K_REASONS, h, ARGV[3])
return 'queued'`;

/**
 * ARGV = [lockToken, lifetimeMs, reason, maxFinalized]. Queued transactions older than the
 * lifetime (by Redis's clock, one for every node) are dropped with `reason`.
 * Returns the number dropped, or -1 when not the watcher.
 */
export const EXPIRE_QUEUED =
  PRELUDE +
  `
if not isWatcher(ARGV[1]) then return -1 end
local now = redis.call('TIME')
local expired = redis.call('ZRANGEBYSCORE', K_QUEUED, '-inf', now[1] * 1000 + math.floor(now[2] / 1000) - tonumber(ARGV[2]), 'LIMIT', 0, 1000)
for _, h in ipairs(expired) do dropHeld(h, ARGV[3]) end
trim(K_DROPPED, tonumber(ARGV[4]), K_REASONS)
return #expired`;

/** ARGV = [from]. Returns the `bySender` members of that sender, by nonce. */
export const SENDER_NONCES =
  PRELUDE +
  `
return redis.call('ZRANGEBYLEX', K_BY_SENDER, '[' .. ARGV[1] .. ':', '[' .. ARGV[1] .. ';')`;

/** ARGV = [hash]. Returns the raw transaction while it is held (pending, queued or inflight), else false. */
export const HELD_RAW =
  PRELUDE +
  `
local h = ARGV[1]
if redis.call('ZSCORE', K_PENDING, h) or redis.call('ZSCORE', K_QUEUED, h) or redis.call('HEXISTS', K_INFLIGHT, h) == 1 then
  return redis.call('HGET', K_PAYLOADS, h)
end
return false`;

/** ARGV = [hash]. Returns {state, detail}. */
export const STATUS =
  PRELUDE +
  `
return status(ARGV[1])`;
