import test from 'ava';
import WebSocket from 'ws';
import { FeedClient } from '../../src/adapters/feed/index.js';
import { decode } from '../../src/runtime/codec.js';
import { blockHash, rawClient, startFeed } from '../helpers/feed.js';

type Frame = Awaited<ReturnType<typeof rawClient>>['frames'][number];

const numberOf = (f: Frame): number => (f.binary ? Number(decode<{ number: bigint }>(f.binary).number) : Number(f.text?.number));
const blocksIn = (frames: Frame[]): Frame[] => frames.filter((f) => f.binary || f.text?.type === 'block');
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('replay then live: exactly 1..N in order under concurrent commits, both encodings agree with the store', async (t) => {
  const { store, commit, url } = await startFeed(t, { replayPageSize: 7 });
  const N = 260;
  for (let n = 1n; n <= 120n; n++) await commit(n);

  // The committer keeps going while subscribers replay; they join at different points of the race.
  const committing = (async () => {
    for (let n = 121n; n <= BigInt(N); n++) {
      await commit(n);
      if (n % 10n === 0n) await new Promise((r) => setImmediate(r));
    }
  })();
  const subs = [] as Awaited<ReturnType<typeof rawClient>>[];
  const kinds = [
    { encoding: 'msgpack', payload: true },
    { encoding: 'json', payload: true },
    { encoding: 'msgpack', payload: false },
    { encoding: 'json', payload: false },
  ];
  for (const [i, kind] of kinds.entries()) {
    const sub = await rawClient(t, url);
    sub.send({ op: 'subscribe', from: 1, ...kind });
    subs.push(sub);
    await new Promise((r) => setTimeout(r, 5 * i));
  }
  await committing;
  for (const [i, sub] of subs.entries()) {
    await sub.until(() => blocksIn(sub.frames).length >= N, `subscriber ${i} to reach ${N}`);
    await new Promise((r) => setTimeout(r, 50));
    t.deepEqual(blocksIn(sub.frames).map(numberOf), range(1, N), `subscriber ${i} (${JSON.stringify(kinds[i])}) got exactly 1..${N}`);
    t.is(sub.frames.length, N, `subscriber ${i} got no error frames`);
  }

  const [mpFull, jsonFull, mpSummary, jsonSummary] = subs.map((s) => s.frames);
  for (let n = 1; n <= N; n++) {
    const stored = await store.getByNumber(BigInt(n));
    const mp = decode<Record<string, unknown>>(mpFull![n - 1]!.binary!);
    const js = jsonFull![n - 1]!.text!;
    t.is(mp.hash, stored?.hash, `msgpack hash of ${n}`);
    t.is(js.hash, stored?.hash, `json hash of ${n}`);
    t.is(mp.epoch, 1n, `msgpack epoch of ${n}`);
    t.is(js.epoch, 1, `json epoch of ${n}`);
    t.deepEqual(new Uint8Array(mp.payload as Uint8Array), new Uint8Array(stored!.payloadData), `msgpack payload bytes of ${n}`);
    t.is((js.payload as { executionPayload: { blockHash: string } }).executionPayload.blockHash, stored!.hash, `json payload of ${n}`);
    t.deepEqual((js.payload as { executionRequests: string[] }).executionRequests, [`0x01${n.toString(16).padStart(4, '0')}`]);
    t.is(decode<Record<string, unknown>>(mpSummary![n - 1]!.binary!).payload, undefined, `summary msgpack of ${n} has no payload`);
    t.is(jsonSummary![n - 1]!.text!.payload, undefined, `summary json of ${n} has no payload`);
    t.is(jsonSummary![n - 1]!.text!.parentHash as string, blockHash(BigInt(n - 1)), `json parentHash of ${n}`);
  }
});

test('a subscriber ahead of the head waits; a live-only subscriber gets only new blocks', async (t) => {
  const { commit, url } = await startFeed(t);
  for (let n = 1n; n <= 5n; n++) await commit(n);
  const ahead = await rawClient(t, url);
  ahead.send({ op: 'subscribe', from: 8 });
  const liveOnly = await rawClient(t, url);
  liveOnly.send({ op: 'subscribe' });
  await new Promise((r) => setTimeout(r, 100));
  for (let n = 6n; n <= 12n; n++) await commit(n);
  await ahead.until(() => ahead.frames.length >= 5, 'the ahead subscriber');
  await liveOnly.until(() => liveOnly.frames.length >= 7, 'the live-only subscriber');
  t.deepEqual(ahead.frames.map(numberOf), range(8, 12));
  t.deepEqual(liveOnly.frames.map(numberOf), range(6, 12));
  t.is(typeof liveOnly.frames[0]?.text?.timestamp, 'number');
});

test('bad messages get error frames, the connection stays open and others keep being served', async (t) => {
  const { commit, url } = await startFeed(t, { maxMessageBytes: 1024, maxSubscribesPerWindow: 20 });
  const other = await rawClient(t, url);
  other.send({ op: 'subscribe', from: 1 });
  const bad = await rawClient(t, url);
  const cases: [unknown, string][] = [
    ['not json', 'BAD_REQUEST'],
    [{ op: 'unsubscribe' }, 'BAD_REQUEST'],
    [{ op: 'subscribe', from: -1 }, 'BAD_REQUEST'],
    [{ op: 'subscribe', from: 1.5 }, 'BAD_REQUEST'],
    [{ op: 'subscribe', encoding: 'xml' }, 'BAD_REQUEST'],
    [{ op: 'subscribe', payload: 'yes' }, 'BAD_REQUEST'],
    [[1, 2], 'BAD_REQUEST'],
    [JSON.stringify({ op: 'subscribe', pad: 'x'.repeat(8 * 1024) }), 'MESSAGE_TOO_LARGE'],
  ];
  for (const [i, [msg, code]] of cases.entries()) {
    bad.send(msg);
    await bad.until(() => bad.frames.length > i, `error frame ${i}`);
    t.like(bad.frames[i]?.text, { type: 'error', code }, `case ${i}: ${String(msg).slice(0, 40)}`);
  }
  await commit(1n);
  await commit(2n);
  bad.send({ op: 'subscribe', from: 2, encoding: 'json' });
  await bad.until(() => blocksIn(bad.frames).length >= 1, 'a block after the errors');
  await other.until(() => other.frames.length >= 2, 'the other subscriber');
  t.deepEqual(blocksIn(bad.frames).map(numberOf), [2]);
  t.deepEqual(other.frames.map(numberOf), [1, 2]);
  t.is(bad.socket.readyState, WebSocket.OPEN);
});

test('subscribes are rate limited per connection', async (t) => {
  const { commit, url } = await startFeed(t, { maxSubscribesPerWindow: 3, subscribeWindowMs: 60_000 });
  await commit(1n);
  const sub = await rawClient(t, url);
  for (let i = 0; i < 4; i++) sub.send({ op: 'subscribe', from: 1 });
  await sub.until(() => sub.frames.some((f) => f.text?.code === 'RATE_LIMITED'), 'RATE_LIMITED');
  await new Promise((r) => setTimeout(r, 100));
  // Each accepted subscribe replaces the previous one, so block 1 arrives at most three times, and the connection stays usable.
  t.true(blocksIn(sub.frames).length >= 1 && blocksIn(sub.frames).length <= 3);
  t.is(sub.frames.filter((f) => f.text?.code === 'RATE_LIMITED').length, 1);
  const before = blocksIn(sub.frames).length;
  await commit(2n);
  await sub.until(() => blocksIn(sub.frames).length > before, 'block 2 after the refusal');
  t.is(numberOf(blocksIn(sub.frames).at(-1)!), 2);
});

test('maxSubscribers refuses further upgrades with 503 until one leaves', async (t) => {
  const { url } = await startFeed(t, { maxSubscribers: 2 });
  const a = await rawClient(t, url);
  await rawClient(t, url);
  const refused = await new Promise<number>((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.on('open', () => reject(new Error('third connection was accepted')));
    socket.on('error', () => {});
  });
  t.is(refused, 503);
  a.socket.close();
  await a.closed;
  await new Promise((r) => setTimeout(r, 50));
  const c = await rawClient(t, url);
  t.is(c.socket.readyState, WebSocket.OPEN);
});

test('FeedClient with cursor -1n starts at the first committed block and follows live, without reconnecting', async (t) => {
  const { commit, url } = await startFeed(t);
  for (let n = 1n; n <= 3n; n++) await commit(n);
  const client = new FeedClient({ url, cursor: -1n, minBackoffMs: 20, maxBackoffMs: 200 });
  const got: bigint[] = [];
  const problems: string[] = [];
  client.on('block', (b) => got.push(b.number));
  client.on('problem', (p) => problems.push(p.code));
  client.start();
  t.teardown(() => client.stop());
  for (let n = 4n; n <= 5n; n++) await commit(n);
  const deadline = Date.now() + 10_000;
  while (got.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(got, [1n, 2n, 3n, 4n, 5n]);
  t.deepEqual(problems, [], 'no GAP and no reconnect');
});
