import { createHash, randomBytes } from 'node:crypto';
import type { ExecutionContext } from 'ava';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import WebSocket from 'ws';
import { attachFeed, type FeedOptions, type FeedServer } from '../../src/adapters/feed/index.js';
import { HttpServer } from '../../src/adapters/http/index.js';
import { BlockStore } from '../../src/adapters/postgres/blockStore.js';
import { encode } from '../../src/runtime/codec.js';
import type { FeedBlock } from '../../src/types/block.js';
import { createDatabase } from './services.js';

const logger = pino({ level: process.env.BATON_TEST_LOG ?? 'silent' });

export function blockHash(n: bigint): string {
  return `0x${createHash('sha256').update(`feed-test:${n}`).digest('hex')}`;
}

/** A synthetic committed block: contiguous, parent-linked, payloadData a msgpack envelope (with `padding` random bytes to make frames big). */
export function syntheticBlock(n: bigint, padding = 0): FeedBlock {
  const hash = blockHash(n);
  const parentHash = blockHash(n - 1n);
  const timestamp = 1_700_000_000n + n;
  const executionPayload = {
    blockNumber: `0x${n.toString(16)}`,
    blockHash: hash,
    parentHash,
    timestamp: `0x${timestamp.toString(16)}`,
    transactions: [],
    extraData: padding ? `0x${randomBytes(padding).toString('hex')}` : '0x',
  };
  return {
    summary: { number: n, hash, parentHash, timestamp, txCount: 0 },
    epoch: 1n,
    payloadData: encode({ executionPayload, versionedHashes: [], parentBeaconBlockRoot: `0x${'00'.repeat(32)}` }),
    requestsData: encode([`0x01${n.toString(16).padStart(4, '0')}`]),
  };
}

/** A real PostgreSQL store in a fresh database + a real uWS app on a free port with the feed attached; all torn down after the test. */
export async function startFeed(t: ExecutionContext, opts: FeedOptions = {}) {
  const db = await createDatabase('baton_feed');
  const store = new BlockStore({ url: db.url }, { logger });
  await store.migrate();
  const http = new HttpServer({ host: '127.0.0.1', port: 0, name: 'api' }, { logger });
  const metrics = new Registry();
  const feed: FeedServer = attachFeed(http.app, opts, { store, logger, metrics });
  const port = await http.listen();
  t.teardown(async () => {
    feed.close();
    http.close();
    await store.close({ timeout: 1 });
    await db.drop();
  });
  /** What the Publisher does per block: commit, then publish to the feed. */
  const commit = async (n: bigint, padding = 0): Promise<FeedBlock> => {
    const block = syntheticBlock(n, padding);
    await store.commitBlock({ ...block.summary, payloadData: block.payloadData, requestsData: block.requestsData }, 1n, 'test-leader');
    feed.publish(block);
    return block;
  };
  const subscribers = async (): Promise<number> => (await metrics.getSingleMetric('baton_feed_subscribers')?.get())?.values[0]?.value ?? 0;
  return { store, feed, commit, url: `ws://127.0.0.1:${port}/feed`, subscribers };
}

/** A raw `ws` connection that records every frame: parsed JSON for text, the raw bytes for binary. */
export async function rawClient(t: ExecutionContext, url: string) {
  const socket = new WebSocket(url);
  const frames: { text?: Record<string, unknown>; binary?: Buffer }[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    frames.push(isBinary ? { binary: data } : { text: JSON.parse(data.toString()) as Record<string, unknown> });
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  t.teardown(() => socket.terminate());
  /** Resolves once `predicate(frames)` holds; rejects after `ms`. */
  const until = (predicate: () => boolean, what: string, ms = 15_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; have ${frames.length} frames`)), ms);
      const check = (): void => {
        if (predicate()) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  return { socket, frames, closed, until, send: (msg: unknown) => socket.send(typeof msg === 'string' ? msg : JSON.stringify(msg)) };
}
