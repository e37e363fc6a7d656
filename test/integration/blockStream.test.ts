import { createHash, randomBytes } from 'node:crypto';
import test from 'ava';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { RedisLease } from '../../src/adapters/lease/index.js';
import { BlockStream, type StreamAppend } from '../../src/adapters/redis/blockStream.js';
import { StreamError, type StreamErrorCode } from '../../src/adapters/redis/errors.js';
import { deleteRedisPrefix, REDIS_ADDR } from '../helpers/services.js';

const logger = pino({ level: 'silent' });
const signal = (): AbortSignal => new AbortController().signal;

/** A fresh prefix per test on the shared Redis, deleted afterwards. */
async function setup(t: import('ava').ExecutionContext, maxLen?: number) {
  const prefix = `baton-test:${randomBytes(6).toString('hex')}`;
  const redis = new Redis(`redis://${REDIS_ADDR}`);
  t.teardown(async () => {
    await deleteRedisPrefix(redis, prefix);
    await redis.quit();
  });
  const stream = new BlockStream(maxLen ? { prefix, maxLen } : { prefix }, { redis, logger });
  return { prefix, redis, stream, key: `${prefix}:blocks` };
}

function block(n: bigint, tag = 'a'): StreamAppend {
  return {
    number: n,
    hash: `0x${createHash('sha256').update(`${tag}:${n}`).digest('hex')}`,
    timestamp: 1_700_000_000n + n,
    payload: new Uint8Array(randomBytes(32)),
  };
}

async function expectCode(t: import('ava').ExecutionContext, p: Promise<unknown>, code: StreamErrorCode, what: string) {
  const err = await t.throwsAsync(p, { instanceOf: StreamError }, what);
  t.is(err?.code, code, what);
}

test('appends with explicit IDs and reads entries back', async (t) => {
  const { redis, stream, key } = await setup(t);
  t.is(await stream.lastEntry(), null);
  t.deepEqual(await stream.range(1n, 10n), []);
  const blocks = [1n, 2n, 3n].map((n) => block(n));
  // Bytes that are not valid UTF-8 must survive the round trip.
  blocks[1] = { ...(blocks[1] as StreamAppend), payload: Uint8Array.of(0, 0xff, 0xfe, 0x80, 10) };
  for (const b of blocks) t.deepEqual(await stream.append(b, 1n), { appended: true }, `append ${b.number}`);

  const ids = (await redis.xrange(key, '-', '+')).map(([id]) => id);
  t.deepEqual(ids, ['1-0', '2-0', '3-0']);
  const last = await stream.lastEntry();
  t.is(last?.number, 3n);
  t.is(last?.hash, blocks[2]?.hash);
  t.is(last?.epoch, 1n);
  t.is(last?.timestamp, 1_700_000_003n);
  const all = await stream.range(1n, 3n);
  t.deepEqual(
    all.map((e) => e.number),
    [1n, 2n, 3n],
  );
  for (const [i, e] of all.entries()) {
    t.deepEqual(new Uint8Array(e.payload), blocks[i]?.payload, `payload of ${e.number}`);
  }
  t.deepEqual(
    (await stream.range(2n, 2n)).map((e) => e.number),
    [2n],
  );
  t.deepEqual(await stream.range(4n, 10n), []);
  await t.throwsAsync(stream.append(block(0n), 1n), { instanceOf: RangeError });
});

test('a repeated append of the same block is idempotent; another hash at a taken height fails', async (t) => {
  const { redis, stream, key } = await setup(t);
  const [b1, b2] = [block(1n), block(2n)];
  await stream.append(b1, 1n);
  await stream.append(b2, 1n);
  t.deepEqual(await stream.append(b1, 2n), { appended: false });
  t.deepEqual(await stream.append({ ...b2, hash: b2.hash.toUpperCase().replace('0X', '0x') }, 2n), { appended: false });
  await expectCode(t, stream.append(block(1n, 'other'), 2n), 'HEIGHT_TAKEN', 'below the top');
  await expectCode(t, stream.append(block(2n, 'other'), 2n), 'HEIGHT_TAKEN', 'at the top');
  t.is(await redis.xlen(key), 2);
  t.is((await stream.lastEntry())?.hash, b2.hash);
});

test('a missing height below the top cannot be appended any more', async (t) => {
  const { redis, stream, key } = await setup(t);
  await stream.append(block(1n), 1n);
  await stream.append(block(3n), 1n);
  await expectCode(t, stream.append(block(2n), 1n), 'OUT_OF_ORDER', '2 below top 3');
  t.is(await redis.xlen(key), 2);
});

test('the epoch fence refuses lower epochs and is raised by higher ones', async (t) => {
  const { prefix, redis, stream, key } = await setup(t);
  await redis.set(`${prefix}:epoch`, '7');
  await expectCode(t, stream.append(block(1n), 6n), 'STALE_EPOCH', '6 < 7');
  t.is(await redis.xlen(key), 0, 'nothing appended by a stale epoch');
  t.true((await stream.append(block(1n), 7n)).appended, 'an equal epoch appends');
  await stream.append(block(2n), 9n);
  t.is(await redis.get(`${prefix}:epoch`), '9');
  await expectCode(t, stream.append(block(3n), 8n), 'STALE_EPOCH', '8 < 9');
  await expectCode(t, stream.append(block(2n), 8n), 'STALE_EPOCH', 'stale even when idempotent');
  await expectCode(
    t,
    stream.append(block(3n, 'x'), 10n).then(() => stream.append(block(3n, 'y'), 11n)),
    'HEIGHT_TAKEN',
    'taken',
  );
  t.is(await redis.get(`${prefix}:epoch`), '10', 'a refused append does not raise the fence');
});

test('epochs and heights beyond 2^53 compare exactly', async (t) => {
  const { prefix, redis, stream } = await setup(t);
  const big = 2n ** 53n;
  await redis.set(`${prefix}:epoch`, (big + 1n).toString());
  // As Lua doubles 2^53 and 2^53+1 are equal; as decimal strings they are not.
  await expectCode(t, stream.append(block(1n), big), 'STALE_EPOCH', '2^53 < 2^53+1');
  await stream.append(block(big), big + 1n);
  t.true((await stream.append(block(big + 1n), big + 1n)).appended, '2^53+1 is above 2^53');
  t.deepEqual(await stream.append(block(big + 1n), big + 1n), { appended: false });
  const last = await stream.lastEntry();
  t.is(last?.number, big + 1n);
  t.is(last?.epoch, big + 1n);
});

test('the stream is capped approximately at maxLen', async (t) => {
  const { redis, stream, key } = await setup(t, 100);
  for (let n = 1n; n <= 350n; n++) await stream.append(block(n), 1n);
  const len = await redis.xlen(key);
  // MAXLEN ~ trims whole macro-nodes (100 entries each by default): at least maxLen stay.
  t.true(len >= 100 && len < 350, `length ${len}`);
  t.is((await stream.lastEntry())?.number, 350n);
});

test("fenced by the redis lease's epoch: a deposed leader's appends fail", async (t) => {
  const { prefix, redis, stream, key } = await setup(t);
  const leaseRedis = new Redis(`redis://${REDIS_ADDR}`);
  t.teardown(() => leaseRedis.quit().then(() => undefined));
  const lease = new RedisLease({ prefix }, { redis: leaseRedis, logger });
  const g1 = await lease.tryAcquire('node-a', 200, signal());
  if (!g1) return t.fail('not granted');
  await stream.append(block(1n), g1.epoch);
  await new Promise((r) => setTimeout(r, 250));
  const g2 = await lease.tryAcquire('node-b', 5_000, signal());
  if (!g2) return t.fail('not granted after expiry');
  // node-a has not noticed yet: its next append must fail before node-b publishes anything.
  await expectCode(t, stream.append(block(2n), g1.epoch), 'STALE_EPOCH', 'deposed leader');
  t.true((await stream.append(block(2n, 'b'), g2.epoch)).appended);
  t.is(await redis.xlen(key), 2);
});

test('two publishers racing: after epoch 2 appends, every epoch-1 append fails', async (t) => {
  const { prefix, redis, stream, key } = await setup(t);
  const otherClient = redis.duplicate();
  t.teardown(() => otherClient.quit().then(() => undefined));
  const second = new BlockStream({ prefix }, { redis: otherClient, logger });
  let epoch2At = Infinity;
  const late: string[] = [];
  const accepted = new Map<bigint, string>();
  const publisher = async (s: BlockStream, epoch: bigint, tag: string) => {
    for (let i = 0; i < 200; i++) {
      const top = (await s.lastEntry())?.number ?? 0n;
      const b = block(top + 1n, `${tag}${i}`);
      const startedAt = performance.now();
      try {
        await s.append(b, epoch);
        t.is(accepted.get(b.number) ?? b.hash, b.hash, `one hash at ${b.number}`);
        accepted.set(b.number, b.hash);
        if (epoch === 2n) epoch2At = Math.min(epoch2At, performance.now());
        if (epoch === 1n && startedAt > epoch2At) late.push(`epoch 1 appended ${b.number}`);
      } catch (err) {
        const code = (err as StreamError).code;
        if (epoch === 1n && startedAt > epoch2At && code !== 'STALE_EPOCH') late.push(`epoch 1 got ${code}`);
        if (epoch === 2n) t.is(code, 'HEIGHT_TAKEN', `epoch 2 only loses races: ${String(err)}`);
      }
    }
  };
  await Promise.all([publisher(stream, 1n, 'one'), publisher(second, 2n, 'two')]);
  t.deepEqual(late, []);
  t.true(Number.isFinite(epoch2At), 'epoch 2 appended');
  const entries = await stream.range(1n, 10_000n);
  t.is(entries.length, await redis.xlen(key));
  for (const e of entries) t.is(accepted.get(e.number), e.hash, `entry ${e.number} is the accepted one`);
});
