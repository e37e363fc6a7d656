/**
 * Feed bench (`npx tsx bench/feed.ts [--quick]`): fan-out of committed blocks to 1,000 WebSocket
 * subscribers through Baton's FeedServer (uWS) against two servers that send the same frames to
 * the same number of clients, all in this run: the limit, a bare uWebSockets.js app that encodes
 * each block once and `publish`es it to one topic (no cursors, no backpressure checks, no
 * metrics), and a plain `ws`-library server that loops over its clients (DESIGN §9: fan-out ≥ 0.9 ×
 * the bare uWS loop and ≥ 1.4 × ws; commit → subscriber p99 ≤ 5 ms or within 1.2 × of the bare
 * loop's; ≤ 10 KB per idle subscriber).
 *
 * The subscribers are `ws` clients in child processes (this file, forked with `--subscribers`), so
 * their event loops do not share the server's. Frames carry their publish time, so latency is
 * measured on the receiving side with the machine's one clock (`performance.timeOrigin + now()`).
 * While latency is measured, only a sample of the subscribers read (see LATENCY_SAMPLE_EVERY).
 */

import uWS, { type us_listen_socket } from 'uWebSockets.js';
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { attachFeed, feedSink } from '../src/adapters/feed/index.js';
import { encodeBlockFrame, topicOf } from '../src/adapters/feed/protocol.js';
import { HttpServer } from '../src/adapters/http/index.js';
import { decode, encode } from '../src/runtime/codec.js';
import type { EncodedBlock, FeedBlock } from '../src/types/block.js';
import { percentile, type Row, reportSection } from './stats.js';

export interface FeedBenchOptions {
  /** Subscribers connected to each server (DESIGN §9 budgets are stated for 1,000). */
  subscribers?: number;
  /** Blocks published back to back (one per event-loop turn, as commits arrive) for the fan-out rate. */
  burstBlocks?: number;
  /** Blocks published one per `intervalMs` for the latency percentiles. */
  latencyBlocks?: number;
  intervalMs?: number;
  /** Child processes the subscribers are spread over; default leaves one core to the server. */
  processes?: number;
  /** Random bytes in each block's payload (carried as hex, so frames grow by twice this). */
  payloadBytes?: number;
}

/** One server's figures; latencies in ms, memory in bytes. */
export interface FeedServerFigures {
  messagesPerSecond: number;
  /**
   * Server CPU per delivered frame during the fan-out, split: user space is the server's own code;
   * kernel time is mostly the send syscalls, and on loopback it also carries the receiving side's
   * TCP processing, which no server code can avoid (with remote subscribers it is cheaper).
   */
  userMicrosPerFrame: number;
  kernelMicrosPerFrame: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Server memory added per connected, subscribed, idle subscriber: RSS less free V8 heap (see `retainedBytes`). */
  rssPerIdleSubscriberBytes: number;
}

export interface FeedBenchResult {
  options: Required<FeedBenchOptions>;
  frameBytes: number;
  baton: FeedServerFigures;
  /** The limit: a bare uWebSockets.js publish loop of the same frames. */
  bareUws: FeedServerFigures;
  ws: FeedServerFigures;
  /** Baton's fan-out rate over the bare uWS loop's (budget ≥ 0.9). */
  fanOutVsBareUws: number;
  /** Baton's fan-out rate over the ws server's (budget ≥ 1.4). */
  fanOutRatio: number;
}

const defaults: Required<FeedBenchOptions> = {
  subscribers: 1_000,
  burstBlocks: 1_000,
  latencyBlocks: 200,
  intervalMs: 100,
  processes: Math.max(1, availableParallelism() - 1),
  payloadBytes: 256,
};
/** Finishes in well under 30 s on two cores. */
const quickDefaults: Required<FeedBenchOptions> = { ...defaults, subscribers: 200, burstBlocks: 300, latencyBlocks: 40 };

/** Blocks delivered before each measurement and not counted: the JIT warms up on both sides. */
const WARMUP_BLOCKS = 50;
/** Connections opened at once per subscriber process: well under the listen backlog. */
const CONNECT_BATCH = 100;
/** A dropped subscriber is reported at once; this only catches a frame lost without a close, which would hang the bench. */
const REPORT_TIMEOUT_MS = 10 * 60_000;
/** 1,000 subscribe messages take well under a second to register; far longer means the server refused some. */
const SUBSCRIBE_TIMEOUT_MS = 30_000;
/** Lets V8's background unmapper return the pages a GC freed before RSS is read. */
const UNMAP_PAUSE_MS = 300;
/**
 * In the latency phase one subscriber in this many reads and times its frames; the others stop
 * reading (their frames wait in socket buffers, the server sends to all of them as usual). A real
 * subscriber has its own machine; 1,000 of them read one after another by one Node process on
 * two shared cores would measure that process's queue (tens of ms), not the server's fan-out.
 * The sample is spread evenly over the subscription order, so it sees the fan-out's tail.
 */
const LATENCY_SAMPLE_EVERY = 20;
/** Both servers publish this encoding and payload choice: what a member's Syncer subscribes to. */
const SUBSCRIBE = { op: 'subscribe', encoding: 'msgpack', payload: true } as const;
const EPOCH = 1n;

/** Milliseconds on the wall clock with µs resolution, comparable across processes on this machine. */
const nowMs = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Parent → subscriber process. */
type Command =
  | { type: 'connect'; url: string; count: number }
  /** Count `blocks` frames per client; `latency`: only the sampled clients read, and time each frame. */
  | { type: 'expect'; blocks: number; latency: boolean }
  | { type: 'disconnect' };
/** Subscriber process → parent. */
type Report =
  | { type: 'connected' }
  /** Counting from zero: only now may the parent publish (IPC and the sockets are not ordered with each other). */
  | { type: 'armed' }
  /** `lastAtMs`: when the last expected frame arrived; `latenciesMs`: one per frame in latency mode. */
  | { type: 'received'; lastAtMs: number; latenciesMs: Float64Array }
  | { type: 'disconnected' }
  /** E.g. the server closed a subscriber (4008): its frames would never all arrive, so the run fails. */
  | { type: 'failed'; message: string };

/** A server under test: Baton's FeedServer or the ws baseline. */
interface BenchServer {
  url: string;
  /** Subscriptions registered so far: publishing starts only once every subscriber is in. */
  subscribed(): number;
  publish(block: EncodedBlock): void;
  close(): Promise<void>;
}

async function startBaton(subscribers: number): Promise<BenchServer> {
  const logger = pino({ level: 'silent' });
  const http = new HttpServer({ host: '127.0.0.1', port: 0, name: 'api' }, { logger });
  // Bench only: live-only subscribers never replay, so a store without pages stands in for PostgreSQL.
  const store = { pages: async function* () {} };
  const sink = feedSink(attachFeed(http.app, { maxSubscribers: subscribers }, { store, logger }));
  const port = await http.listen();
  return {
    url: `ws://127.0.0.1:${port}/feed`,
    subscribed: () => http.app.numSubscribers(topicOf(SUBSCRIBE.encoding, SUBSCRIBE.payload)),
    // The Publisher's path: feedSink → FeedServer.publish → one encode per topic → uWS publish.
    publish: (block) => void sink.publish(block, EPOCH),
    close: async () => http.close(),
  };
}

/**
 * The limit: uWebSockets.js with nothing of Baton's around it. A subscriber joins the one topic on
 * its subscribe message; each block is encoded once and handed to `app.publish`, whose C++ loop
 * writes it to every socket. What Baton adds on top (cursors, replay, the slow-subscriber check,
 * metrics) is what the ratio against this measures.
 */
async function startBareUws(): Promise<BenchServer> {
  const topic = topicOf(SUBSCRIBE.encoding, SUBSCRIBE.payload);
  const app = uWS.App();
  app.ws('/feed', { maxPayloadLength: 64 * 1024, idleTimeout: 0, maxBackpressure: 64 * 1024 * 1024, message: (ws) => void ws.subscribe(topic) });
  const socket = await new Promise<us_listen_socket>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (s) => (s ? resolve(s) : reject(new Error('feed bench: the bare uWS server could not listen')))),
  );
  return {
    url: `ws://127.0.0.1:${uWS.us_socket_local_port(socket as unknown as uWS.us_socket)}/feed`,
    subscribed: () => app.numSubscribers(topic),
    publish: (block) => void app.publish(topic, encodeBlockFrame({ ...block, epoch: EPOCH }, SUBSCRIBE.encoding, SUBSCRIBE.payload), true, false),
    close: async () => {
      uWS.us_listen_socket_close(socket);
      (app as typeof app & { close(): void }).close();
    },
  };
}

/** The baseline: the textbook `ws` broadcast, the same frame encoded once per block and sent to each client in turn. */
async function startWs(): Promise<BenchServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(wss, 'listening');
  const clients = new Set<WebSocket>();
  wss.on('connection', (socket) => {
    socket.once('message', () => clients.add(socket));
    socket.on('close', () => clients.delete(socket));
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/feed`,
    subscribed: () => clients.size,
    publish: (block) => {
      const frame = encodeBlockFrame({ ...block, epoch: EPOCH } satisfies FeedBlock, SUBSCRIBE.encoding, SUBSCRIBE.payload);
      for (const client of clients) client.send(frame);
    },
    close: () => new Promise((resolve) => wss.close(() => resolve())),
  };
}

/** A block whose header `timestamp` is its publish time in µs: the subscriber's clock minus it is the delivery latency. */
function benchBlock(number: bigint, padding: string): EncodedBlock {
  const hash = `0x${number.toString(16).padStart(64, '0')}`;
  return {
    summary: { number, hash, parentHash: `0x${(number - 1n).toString(16).padStart(64, '0')}`, timestamp: BigInt(Math.round(nowMs() * 1000)), txCount: 0 },
    payloadData: encode({ executionPayload: { blockNumber: `0x${number.toString(16)}`, blockHash: hash, extraData: padding, transactions: [] } }),
    requestsData: encode([]),
  };
}

/** The parent's handle on the subscriber processes. */
class Subscribers {
  private constructor(private readonly children: ChildProcess[]) {}

  static async fork(processes: number): Promise<Subscribers> {
    const file = fileURLToPath(import.meta.url);
    // `fork` reuses this process's execArgv, so the children load TypeScript through tsx as well.
    const children = Array.from({ length: processes }, () => fork(file, ['--subscribers'], { serialization: 'advanced' }));
    await Promise.all(children.map((child) => once(child, 'spawn')));
    return new Subscribers(children);
  }

  /** Opens `count` more subscribers, spread evenly over the processes. */
  async connect(url: string, count: number): Promise<void> {
    const share = (i: number): number => Math.floor(count / this.children.length) + (i < count % this.children.length ? 1 : 0);
    await this.all((_child, i) => ({ type: 'connect', url, count: share(i) }));
  }

  /**
   * Arms every child to count `blocks` frames per client and resolves once all are armed; publish
   * only then. `delivered` resolves once every client has them all, with the last arrival time and,
   * in latency mode, every frame's latency.
   */
  async expect(blocks: number, latency: boolean): Promise<{ delivered: Promise<{ lastAtMs: number; latenciesMs: number[] }> }> {
    await this.all(() => ({ type: 'expect', blocks, latency }));
    const delivered = this.all(null).then((reports) => ({
      lastAtMs: Math.max(...reports.map((r) => (r.type === 'received' ? r.lastAtMs : 0))),
      latenciesMs: reports.flatMap((r) => (r.type === 'received' ? [...r.latenciesMs] : [])),
    }));
    return { delivered };
  }

  async disconnect(): Promise<void> {
    await this.all(() => ({ type: 'disconnect' }));
  }

  kill(): void {
    for (const child of this.children) child.kill();
  }

  /** Sends each child its command (if any) and waits for every child's next report; fails on a dropped subscriber or after REPORT_TIMEOUT_MS. */
  private all(command: ((child: ChildProcess, i: number) => Command) | null): Promise<Report[]> {
    const signal = AbortSignal.timeout(REPORT_TIMEOUT_MS);
    return Promise.all(
      this.children.map(async (child, i) => {
        const reply = once(child, 'message', { signal }) as Promise<[Report]>;
        if (command) child.send(command(child, i));
        let report: Report;
        try {
          [report] = await reply;
        } catch (err) {
          throw signal.aborted ? new Error(`feed bench: a subscriber process did not report within ${REPORT_TIMEOUT_MS} ms`) : err;
        }
        if (report.type === 'failed') throw new Error(`feed bench: ${report.message}`);
        return report;
      }),
    );
  }
}

/** The child side: ws clients counting (and in latency mode timing) every frame they read. */
function serveSubscriberProcess(): void {
  let sockets: WebSocket[] = [];
  let disconnecting = false;
  let expected = 0;
  let received = 0;
  let latencies: Float64Array | null = null;
  const fail = (message: string): void => void process.send!({ type: 'failed', message } satisfies Report);
  const onFrame = (data: Buffer): void => {
    const at = nowMs();
    if (latencies) latencies[received] = at - Number(decode<{ timestamp: bigint }>(data).timestamp) / 1000;
    if (++received === expected) process.send!({ type: 'received', lastAtMs: at, latenciesMs: latencies ?? new Float64Array() } satisfies Report);
  };
  const open = (url: string): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      socket.on('message', onFrame);
      socket.on('close', (code, reason) => {
        if (!disconnecting) fail(`the server closed a subscriber (${code} ${reason.toString()})`);
      });
      socket.once('error', reject);
      socket.once('open', () => {
        socket.send(JSON.stringify(SUBSCRIBE));
        resolve(socket);
      });
    });
  async function handle(command: Command): Promise<void> {
    switch (command.type) {
      case 'connect':
        for (let i = 0; i < command.count; i += CONNECT_BATCH) {
          sockets.push(...(await Promise.all(Array.from({ length: Math.min(CONNECT_BATCH, command.count - i) }, () => open(command.url)))));
        }
        process.send!({ type: 'connected' } satisfies Report);
        break;
      case 'expect': {
        let reading = 0;
        for (const [i, socket] of sockets.entries()) {
          if (!command.latency || i % LATENCY_SAMPLE_EVERY === 0) reading++;
          else socket.pause();
        }
        expected = command.blocks * reading;
        received = 0;
        latencies = command.latency ? new Float64Array(expected) : null;
        process.send!({ type: 'armed' } satisfies Report);
        break;
      }
      case 'disconnect':
        disconnecting = true;
        latencies = null;
        // A paused socket would never read the server's close frame.
        await Promise.all(
          sockets.map(
            (s) =>
              new Promise((resolve) => {
                s.once('close', resolve);
                s.resume();
                s.close();
              }),
          ),
        );
        sockets = [];
        disconnecting = false;
        process.send!({ type: 'disconnected' } satisfies Report);
        break;
    }
  }
  process.on('message', (command: Command) => void handle(command).catch((err: Error) => fail(err.message)));
}

/**
 * Resident memory in use after full GCs: RSS less the resident V8 heap pages that hold no live
 * object. V8 returns those on its own schedule (and unmaps freed pages on a background thread,
 * hence the pause), which moved plain RSS readings by MB in either direction; what subscribers
 * hold, JS objects and native memory, stays counted.
 */
async function retainedBytes(): Promise<number> {
  // The bench runs as `tsx bench/feed.ts`, without --expose-gc: enable it at run time.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 3; i++) gc();
  await sleep(UNMAP_PAUSE_MS);
  const { total_physical_size: heapResident, used_heap_size: heapUsed } = getHeapStatistics();
  return process.memoryUsage().rss - heapResident + heapUsed;
}

/** Connects `count` more subscribers and waits until the server has registered them (the last subscribe messages are still in flight when `connect` resolves). */
async function subscribeMore(server: BenchServer, group: Subscribers, count: number): Promise<void> {
  const total = server.subscribed() + count;
  await group.connect(server.url, count);
  const deadline = Date.now() + SUBSCRIBE_TIMEOUT_MS;
  while (server.subscribed() < total) {
    if (Date.now() > deadline) throw new Error(`feed bench: ${server.subscribed()} of ${total} subscriptions after ${SUBSCRIBE_TIMEOUT_MS} ms`);
    await sleep(10);
  }
}

/**
 * Connects `count` idle subscribers and returns the memory each of the second half added: the
 * first half pays the one-time costs (code compiled, pools and tables grown) that are not per
 * subscriber.
 */
async function bytesPerIdleSubscriber(server: BenchServer, group: Subscribers, count: number): Promise<number> {
  const half = Math.floor(count / 2);
  await subscribeMore(server, group, half);
  const before = await retainedBytes();
  await subscribeMore(server, group, count - half);
  return ((await retainedBytes()) - before) / (count - half);
}

/** Fan-out rate, then latency percentiles, of one server to its (connected) group; then closes both. */
async function measureTraffic(
  server: BenchServer,
  group: Subscribers,
  o: Required<FeedBenchOptions>,
  progress: (line: string) => void,
): Promise<Omit<FeedServerFigures, 'rssPerIdleSubscriberBytes'>> {
  const padding = `0x${randomBytes(o.payloadBytes).toString('hex')}`;
  let head = 0n;
  /** Back to back, one block per event-loop turn: each commit is its own await in the Publisher. */
  const burst = async (blocks: number): Promise<{ seconds: number; cpu: NodeJS.CpuUsage }> => {
    const { delivered } = await group.expect(blocks, false);
    const started = nowMs();
    const cpu = process.cpuUsage();
    for (let i = 0; i < blocks; i++) {
      server.publish(benchBlock(++head, padding));
      await nextTurn();
    }
    const { lastAtMs } = await delivered;
    return { seconds: (lastAtMs - started) / 1000, cpu: process.cpuUsage(cpu) };
  };
  progress(`  fan-out: ${o.burstBlocks} blocks back to back…`);
  await burst(WARMUP_BLOCKS);
  const { seconds, cpu } = await burst(o.burstBlocks);
  const frames = o.subscribers * o.burstBlocks;
  progress(`  latency: ${o.latencyBlocks} blocks, one per ${o.intervalMs} ms…`);

  const timed = await group.expect(o.latencyBlocks, true);
  for (let i = 0; i < o.latencyBlocks; i++) {
    server.publish(benchBlock(++head, padding));
    await sleep(o.intervalMs);
  }
  const latencies = (await timed.delivered).latenciesMs.sort((a, b) => a - b);
  await group.disconnect();
  await server.close();
  return {
    messagesPerSecond: frames / seconds,
    userMicrosPerFrame: cpu.user / frames,
    kernelMicrosPerFrame: cpu.system / frames,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
  };
}

/**
 * Runs Baton's FeedServer and the ws baseline in this process, each with its own group of
 * subscriber processes. Idle memory is measured first, both servers up and nothing sent yet, so
 * neither reading includes what the other's traffic left for the GC; then traffic, Baton first.
 */
export async function runFeedBench(
  options: FeedBenchOptions & { quick?: boolean } = {},
  progress: (line: string) => void = () => {},
): Promise<FeedBenchResult> {
  const { quick = false, ...rest } = options;
  const o: Required<FeedBenchOptions> = { ...(quick ? quickDefaults : defaults), ...rest };
  const [batonGroup, bareGroup, wsGroup] = [await Subscribers.fork(o.processes), await Subscribers.fork(o.processes), await Subscribers.fork(o.processes)];
  try {
    const batonServer = await startBaton(o.subscribers);
    const bareServer = await startBareUws();
    const wsServer = await startWs();
    progress(`connecting ${o.subscribers} idle subscribers to each server…`);
    const batonIdle = await bytesPerIdleSubscriber(batonServer, batonGroup, o.subscribers);
    const bareIdle = await bytesPerIdleSubscriber(bareServer, bareGroup, o.subscribers);
    const wsIdle = await bytesPerIdleSubscriber(wsServer, wsGroup, o.subscribers);

    progress('Baton FeedServer (uWS):');
    const baton = { ...(await measureTraffic(batonServer, batonGroup, o, progress)), rssPerIdleSubscriberBytes: batonIdle };
    progress('bare uWebSockets.js publish loop (the limit):');
    const bareUws = { ...(await measureTraffic(bareServer, bareGroup, o, progress)), rssPerIdleSubscriberBytes: bareIdle };
    progress('ws server (baseline):');
    const ws = { ...(await measureTraffic(wsServer, wsGroup, o, progress)), rssPerIdleSubscriberBytes: wsIdle };
    const sample = encodeBlockFrame({ ...benchBlock(1n, `0x${'00'.repeat(o.payloadBytes)}`), epoch: EPOCH }, SUBSCRIBE.encoding, SUBSCRIBE.payload);
    return {
      options: o,
      frameBytes: sample.length,
      baton,
      bareUws,
      ws,
      fanOutVsBareUws: baton.messagesPerSecond / bareUws.messagesPerSecond,
      fanOutRatio: baton.messagesPerSecond / ws.messagesPerSecond,
    };
  } finally {
    batonGroup.kill();
    bareGroup.kill();
    wsGroup.kill();
  }
}

if (process.argv.includes('--subscribers')) {
  serveSubscriberProcess();
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  const o = quick ? quickDefaults : defaults;
  console.log(
    `feed bench: ${o.subscribers} subscribers in ${o.processes} process(es), ${o.burstBlocks} blocks back to back, ${o.latencyBlocks} at one per ${o.intervalMs} ms, Node ${process.version}, ${availableParallelism()} cores${quick ? ' (quick)' : ''}`,
  );
  const r = await runFeedBench({ quick }, console.log);
  const kb = (bytes: number): number => bytes / 1024;
  const rows: Row[] = [
    {
      figure: `fan-out, ${r.options.subscribers} subscribers, ${r.frameBytes} B frames`,
      value: r.baton.messagesPerSecond,
      unit: 'msg/s',
      baseline: r.ws.messagesPerSecond,
    },
    { figure: 'server user CPU per frame', value: r.baton.userMicrosPerFrame, unit: 'µs', baseline: r.ws.userMicrosPerFrame, higherIsBetter: false },
    {
      figure: 'server kernel CPU per frame (loopback)',
      value: r.baton.kernelMicrosPerFrame,
      unit: 'µs',
      baseline: r.ws.kernelMicrosPerFrame,
      higherIsBetter: false,
    },
    {
      figure: `commit → subscriber p50, one block per ${r.options.intervalMs} ms`,
      value: r.baton.latencyP50Ms,
      unit: 'ms',
      baseline: r.ws.latencyP50Ms,
      higherIsBetter: false,
    },
    {
      figure: `commit → subscriber p99, one block per ${r.options.intervalMs} ms`,
      value: r.baton.latencyP99Ms,
      unit: 'ms',
      baseline: r.ws.latencyP99Ms,
      higherIsBetter: false,
    },
    {
      figure: 'server RSS per idle subscriber (less free V8 heap)',
      value: kb(r.baton.rssPerIdleSubscriberBytes),
      unit: 'KB',
      baseline: kb(r.ws.rssPerIdleSubscriberBytes),
      higherIsBetter: false,
    },
  ];
  reportSection('Feed (baseline: a ws-library server broadcasting the same frames)', rows);
  const limitRows: Row[] = [
    {
      figure: `fan-out, ${r.options.subscribers} subscribers (budget ≥ 0.9 ×)`,
      value: r.baton.messagesPerSecond,
      unit: 'msg/s',
      baseline: r.bareUws.messagesPerSecond,
    },
    { figure: 'server user CPU per frame', value: r.baton.userMicrosPerFrame, unit: 'µs', baseline: r.bareUws.userMicrosPerFrame, higherIsBetter: false },
    {
      figure: 'server kernel CPU per frame (loopback)',
      value: r.baton.kernelMicrosPerFrame,
      unit: 'µs',
      baseline: r.bareUws.kernelMicrosPerFrame,
      higherIsBetter: false,
    },
    { figure: 'commit → subscriber p50', value: r.baton.latencyP50Ms, unit: 'ms', baseline: r.bareUws.latencyP50Ms, higherIsBetter: false },
    {
      figure: 'commit → subscriber p99 (budget ≤ 5 ms or within 1.2 ×)',
      value: r.baton.latencyP99Ms,
      unit: 'ms',
      baseline: r.bareUws.latencyP99Ms,
      higherIsBetter: false,
    },
  ];
  reportSection(`Feed against its limit (baseline: a bare uWebSockets.js publish loop of the same frames; load ${loadavg()[0]!.toFixed(2)})`, limitRows);
  console.log(`\n${JSON.stringify(r)}`);
}
