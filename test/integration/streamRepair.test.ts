import test from 'ava';
import { Redis } from 'ioredis';
import pino from 'pino';
import { BlockStore } from '../../src/adapters/postgres/blockStore.js';
import { redisStreamSink } from '../../src/adapters/redis/streamSink.js';
import { syntheticBlock } from '../helpers/feed.js';
import { createDatabase, deleteRedisPrefix, REDIS_ADDR, uniqueRedisPrefix } from '../helpers/services.js';
import { TcpProxy } from '../helpers/tcpProxy.js';

/**
 * Regression for chaos seed 20261122 (etcd lease), settle: "the Redis Stream holds 74 blocks, the
 * committed head was 75". The leader lost Redis for one publish (fault "partitionRedis on
 * leader-2"); the next block was appended above the hole and the hole stayed, because only a new
 * term repaired the Stream. Now the first publish after a failed one re-publishes from the Stream's
 * last entry up to the committed head.
 */
test('chaos seed 20261122, settle "the Redis Stream holds 74 blocks": the publish after a failed append fills the hole first', async (t) => {
  const db = await createDatabase();
  const [host, port] = REDIS_ADDR.split(':');
  const proxy = await TcpProxy.start({ host, port: Number(port) });
  const logger = pino({ level: 'silent' });
  const prefix = uniqueRedisPrefix();
  const store = new BlockStore({ url: db.url }, { logger });
  // No retries: a cut link fails the publish at once, as it did for the leader.
  const redis = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 50 });
  const direct = new Redis(`redis://${REDIS_ADDR}`);
  const sink = redisStreamSink({ prefix, stream: `${prefix}:blocks` }, { redis, logger, store });
  try {
    await store.migrate();
    const blocks = [1n, 2n, 3n, 4n].map((n) => syntheticBlock(n));
    const commitAndPublish = async (i: number) => {
      const b = blocks[i]!;
      await store.commitBlock({ ...b.summary, payloadData: b.payloadData, requestsData: b.requestsData }, 1n, 'leader');
      await sink.publish({ summary: b.summary, payloadData: b.payloadData, requestsData: b.requestsData }, 1n);
    };
    await commitAndPublish(0);
    proxy.cut('refuse');
    await t.throwsAsync(commitAndPublish(1), undefined, 'the append of block 2 fails while Redis is cut off');
    proxy.heal();
    await new Promise((r) => setTimeout(r, 300)); // ioredis reconnects
    await commitAndPublish(2);
    await commitAndPublish(3);
    const ids = (await direct.xrange(`${prefix}:blocks`, '-', '+')).map(([id]) => id);
    t.deepEqual(ids, ['1-0', '2-0', '3-0', '4-0'], 'no hole: block 2 was re-published before block 3');
  } finally {
    redis.disconnect();
    await deleteRedisPrefix(direct, prefix);
    direct.disconnect();
    await proxy.close();
    await store.close();
    await db.drop();
  }
});
