/**
 * Slow consumers on the block feed (DESIGN §6): a reader that stops reading is closed with 4008 and
 * its documented reason, whether it is live or replaying; a `FeedClient` in the same situation
 * resumes from its cursor and ends up with every block exactly once, in order; and a fast
 * subscriber on the same topic is served throughout. Real PostgreSQL store, real uWS app.
 */
import test from 'ava';
import WebSocket from 'ws';
import { FeedClient, type FeedClientProblem, FeedCloseCode } from '../../src/adapters/feed/index.js';
import { decode } from '../../src/runtime/codec.js';
import type { ReceivedBlock } from '../../src/types/block.js';
import { waitFor } from '../helpers/batonProcess.js';
import { blockHash, rawClient, startFeed } from '../helpers/feed.js';

/** Random bytes per block; the payload carries them as hex, so every frame is ~512 KB. */
const PADDING = 256 * 1024;
/**
 * Blocks committed per phase: ~20 MB of frames per subscriber. A paused loopback reader absorbs a
 * few MB in the kernel (the server's send buffer grows to 4 MB, the reader's receive window stays
 * small while nothing is read), then the default `maxBackpressure` (4 MB) in uWS: it is overflowed
 * after ~20 frames, within one phase, while a reader that reads keeps that much slack on a busy machine.
 */
const PHASE = 40n;
/** How long a replay waits for a stuck reader before closing it: short, so the test does not wait the 30 s default. */
const REPLAY_DRAIN_TIMEOUT_MS = 2_000;
const SLOW_REASON = /^slow consumer: resubscribe with from=/;

type Frame = Awaited<ReturnType<typeof rawClient>>['frames'][number];
const numbersOf = (frames: Frame[]): bigint[] => frames.map((f) => (f.binary ? BigInt(decode<{ number: bigint | number }>(f.binary).number) : -1n));
const range = (from: bigint, to: bigint): bigint[] => Array.from({ length: Number(to - from + 1n) }, (_, i) => from + BigInt(i));

test('a paused reader is closed with 4008, live or replaying; a FeedClient resumes from its cursor with every block once, in order; a fast subscriber is served throughout', async (t) => {
  const { commit, url, subscribers } = await startFeed(t, { replayDrainTimeoutMs: REPLAY_DRAIN_TIMEOUT_MS });
  let head = 0n;
  const commitPhase = async (): Promise<void> => {
    for (const end = head + PHASE; head < end; ) await commit(++head, PADDING);
  };
  const subscribe = { op: 'subscribe', from: 1, encoding: 'msgpack', payload: true };

  // Same topic as the slow readers (msgpack + payload), so uWS fans the same frames out to both.
  const fast = await rawClient(t, url);
  fast.send(subscribe);
  /** A dropped slow reader: closed with 4008 and the resubscribe hint, after a gap-free prefix of the chain. */
  const closedSlowWithAPrefix = async (reader: Awaited<ReturnType<typeof rawClient>>, label: string): Promise<void> => {
    const close = await reader.closed;
    t.is(close.code, FeedCloseCode.SLOW_CONSUMER);
    t.regex(close.reason, SLOW_REASON);
    const got = numbersOf(reader.frames);
    t.true(got.length > 0 && got.length < Number(head), `the ${label} got a prefix (${got.length} of ${head})`);
    t.deepEqual(got, range(1n, BigInt(got.length)), `what the ${label} got before the close has no gap`);
  };
  const fastCaughtUp = (what: string): Promise<void> =>
    fast.until(() => fast.frames.length >= Number(head), `the fast subscriber to reach ${head} ${what}`, 30_000);

  // Live: subscribed before the blocks exist, stops reading; publish() finds it over the limit.
  const liveSlow = await rawClient(t, url);
  liveSlow.send(subscribe);
  await waitFor('both subscriptions to be open', async () => (await subscribers()) === 2, 5_000, 10);
  liveSlow.socket.pause();
  await commitPhase();
  t.is(await subscribers(), 1, 'the server dropped the paused live reader while publishing');
  // Its close frame sits behind the backlog: the reader sees it only once it reads again.
  liveSlow.socket.resume();
  await closedSlowWithAPrefix(liveSlow, 'live reader');
  await fastCaughtUp('after the live reader was dropped');

  // Replaying: subscribes to the whole history and stops reading; the replay gives up after REPLAY_DRAIN_TIMEOUT_MS.
  const replaySlow = await rawClient(t, url);
  replaySlow.socket.pause();
  replaySlow.send(subscribe);
  await commitPhase();
  await waitFor('the server to drop the paused replaying reader', async () => (await subscribers()) === 1, REPLAY_DRAIN_TIMEOUT_MS + 10_000, 20);
  replaySlow.socket.resume();
  await closedSlowWithAPrefix(replaySlow, 'replaying reader');
  await fastCaughtUp('while a replay was stuck');

  // FeedClient: pauses mid-replay, is dropped, resumes; blocks keep coming while it reconnects and replays ~512 KB frames.
  const client = new FeedClient({ url, cursor: 0n, minBackoffMs: 20, maxBackoffMs: 200 });
  const got: ReceivedBlock[] = [];
  const disconnects: { code: number; reason: string; cursor: bigint }[] = [];
  const problems: FeedClientProblem[] = [];
  client.on('block', (b) => got.push(b));
  client.on('disconnect', (code, reason) => disconnects.push({ code, reason, cursor: client.cursor }));
  client.on('problem', (p) => problems.push(p));
  t.teardown(() => client.stop());
  client.start();
  await waitFor('the FeedClient to start replaying', async () => got.length >= 3, 10_000, 5);
  client.pause();
  await commitPhase();
  await waitFor('the server to drop the paused FeedClient', async () => (await subscribers()) === 1, REPLAY_DRAIN_TIMEOUT_MS + 10_000, 20);
  client.resume();
  await commitPhase();
  await waitFor(`the FeedClient to reach ${head}`, async () => client.cursor === head, 30_000, 20);
  await fastCaughtUp('at the end');

  // On a loaded machine the resumed client may fall behind again: that is another 4008 and another resume, never anything else.
  t.true(disconnects.length >= 1, 'the FeedClient was dropped');
  for (const [i, d] of disconnects.entries()) {
    t.is(d.code, FeedCloseCode.SLOW_CONSUMER, `disconnect ${i} is the slow-consumer close`);
    t.regex(d.reason, SLOW_REASON, `reason of disconnect ${i}`);
  }
  t.true(disconnects[0]!.cursor > 0n && disconnects[0]!.cursor < head, `the FeedClient was dropped mid-stream (cursor ${disconnects[0]?.cursor})`);
  t.deepEqual(problems, [], 'no gap, decode or server error');
  t.deepEqual(
    got.map((b) => b.number),
    range(1n, head),
    'the FeedClient emitted every block exactly once, in order',
  );
  for (const b of got) {
    t.is(b.hash, blockHash(b.number), `hash of ${b.number}`);
    t.is(b.parentHash, blockHash(b.number - 1n), `parent of ${b.number}`);
    t.true(b.payloadData.byteLength > 2 * PADDING, `payload of ${b.number} arrived whole`);
  }

  t.deepEqual(numbersOf(fast.frames), range(1n, head), 'the fast subscriber got every block once, in order');
  t.is(fast.socket.readyState, WebSocket.OPEN, 'the fast subscriber was never dropped');
});
