import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t, WebSocket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { FeedBlock, StoredBlock } from '../../types/block.js';
import type { BlockSink } from '../../types/sink.js';
import type { IBlockStore } from '../postgres/interface.js';
import { defaultFeedOptions, type FeedOptions, HARD_MESSAGE_LIMIT_FACTOR } from './options.js';
import {
  encodeBlockFrame,
  encodeErrorFrame,
  FeedCloseCode,
  type FeedEncoding,
  FeedErrorCode,
  parseSubscribe,
  type SubscribeRequest,
  topicOf,
} from './protocol.js';

export interface FeedModules {
  /** Replay source: committed blocks only (DESIGN §4), read page by page. */
  store: Pick<IBlockStore, 'pages'>;
  logger: Logger;
  metrics?: Registry;
}

/**
 * Where a connection is. `replaying`: reading the store, live blocks are not sent to it.
 * `pending`: replay reached `cursor`, which the live sequence has not published yet; it joins the
 * topic when `publish()` reaches its cursor. `live`: subscribed to its topic.
 */
type Phase = 'idle' | 'replaying' | 'pending' | 'live';

interface SocketState {
  closed: boolean;
  phase: Phase;
  /** Bumped by each subscribe and by close: a replay that sees another value at its next await stops. */
  generation: number;
  encoding: FeedEncoding;
  payload: boolean;
  /** Last block number handed to this socket (live sockets follow `lastPublished` instead). */
  cursor: bigint;
  /** Arrival times of recent messages, for the per-connection rate limit. */
  recent: number[];
  /** Resolves a replay waiting for `drain`. */
  onDrain: (() => void) | null;
}
type Ws = WebSocket<SocketState>;

/** How often a replay waiting for room re-checks the buffer (see `writable`). */
const DRAIN_POLL_MS = 25;

const ALL_TOPICS: [FeedEncoding, boolean][] = [
  ['json', false],
  ['json', true],
  ['msgpack', false],
  ['msgpack', true],
];

/**
 * The WebSocket block feed (DESIGN §6). Live blocks go out through uWS topics, one per
 * encoding × payload, each frame encoded once per block; replays read the store in pages. The
 * seam between the two is decided synchronously (no `publish()` can interleave), so every
 * subscriber sees each block exactly once, in order.
 */
/** How long `close()` waits for clients to take their close frames before the server goes away anyway. */
const CLOSE_FLUSH_MS = 1_000;

export class FeedServer {
  private readonly opts: Required<FeedOptions>;
  private readonly logger: Logger;
  private readonly sockets = new Set<Ws>();
  private readonly live = new Set<Ws>();
  private readonly pending = new Set<Ws>();
  /** Highest block given to `publish()`; live subscribers have received everything up to it. */
  private lastPublished: bigint | null = null;
  private closed = false;
  private readonly subscribers?: Gauge;
  private readonly messages?: Counter<'source'>;

  constructor(
    private readonly app: TemplatedApp,
    opts: FeedOptions,
    private readonly modules: FeedModules,
  ) {
    this.opts = { ...defaultFeedOptions, ...opts };
    this.logger = modules.logger.child({ component: 'feed' });
    if (modules.metrics) {
      const registers = [modules.metrics];
      this.subscribers = new Gauge({ name: 'baton_feed_subscribers', help: 'Open /feed connections', registers });
      this.messages = new Counter({ name: 'baton_feed_messages_total', help: 'Block frames sent on /feed', labelNames: ['source'], registers });
    }
    app.ws<SocketState>('/feed', {
      maxPayloadLength: this.opts.maxMessageBytes * HARD_MESSAGE_LIMIT_FACTOR,
      // 0 = no uWS limit. uWS would silently skip frames (a gap) above its limit, or with
      // closeOnBackpressureLimit drop the socket without a close frame (1006) — it even drops our
      // own 4008 close frame. So the limit is enforced here instead: replays wait for `drain`
      // before each send, live sockets are ended with 4008 once above it, and a socket's buffer
      // is bounded by `maxBackpressure` plus one frame.
      maxBackpressure: 0,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.onUpgrade(res, req, context),
      open: (ws) => this.onOpen(ws),
      message: (ws, message) => this.onMessage(ws, message),
      drain: (ws) => ws.getUserData().onDrain?.(),
      close: (ws) => this.onClose(ws),
    });
  }

  /**
   * Sends a committed block to every live subscriber. Call in commit order (the Publisher does);
   * a repeated block is ignored, and after a skipped height live subscribers are moved back to
   * replay so the store fills the hole.
   */
  publish(block: FeedBlock): void {
    const n = block.summary.number;
    const previous = this.lastPublished;
    if (this.closed || (previous !== null && n <= previous)) return;
    this.lastPublished = n;
    if (previous !== null && n !== previous + 1n) {
      this.logger.warn({ previous, number: n }, 'Feed skipped heights; live subscribers replay the hole');
      for (const ws of this.live) this.replayFrom(ws, previous);
    }
    const frames = new Map<string, string | Uint8Array>();
    const frame = (encoding: FeedEncoding, payload: boolean): string | Uint8Array => {
      const topic = topicOf(encoding, payload);
      let bytes = frames.get(topic);
      if (bytes === undefined) frames.set(topic, (bytes = encodeBlockFrame(block, encoding, payload)));
      return bytes;
    };
    for (const [encoding, payload] of ALL_TOPICS) {
      const topic = topicOf(encoding, payload);
      const count = this.app.numSubscribers(topic);
      if (count === 0) continue;
      this.app.publish(topic, frame(encoding, payload), encoding === 'msgpack', false);
      this.messages?.inc({ source: 'live' }, count);
    }
    for (const ws of this.live) {
      if (ws.getBufferedAmount() > this.opts.maxBackpressure) this.closeSlow(ws);
    }
    for (const ws of this.pending) {
      const state = ws.getUserData();
      if (state.cursor === n - 1n) {
        ws.cork(() => ws.send(frame(state.encoding, state.payload), state.encoding === 'msgpack'));
        this.messages?.inc({ source: 'live' });
        state.cursor = n;
      }
      if (state.cursor === n) this.goLive(ws, state);
      else if (state.cursor < n) this.replayFrom(ws, state.cursor);
    }
  }

  /**
   * Closes every connection with 1001 and refuses new ones; clients resume elsewhere with their
   * cursor. Resolves once every socket is closed or after `timeoutMs`: the API server must not be
   * closed before the close frames are out, or clients see 1006 (no close frame) instead.
   */
  async close(timeoutMs = CLOSE_FLUSH_MS): Promise<void> {
    this.closed = true;
    // Corked: outside a uWS callback an uncorked close frame can sit unflushed.
    for (const ws of [...this.sockets]) ws.cork(() => ws.end(FeedCloseCode.GOING_AWAY, 'server shutting down'));
    const deadline = performance.now() + timeoutMs;
    while (this.sockets.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  private onUpgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    if (this.closed || this.sockets.size >= this.opts.maxSubscribers) {
      res
        .writeStatus('503 Service Unavailable')
        .writeHeader('retry-after', '5')
        .end(this.closed ? 'feed is shutting down' : 'feed is full');
      return;
    }
    const state: SocketState = { closed: false, phase: 'idle', generation: 0, encoding: 'json', payload: false, cursor: -1n, recent: [], onDrain: null };
    res.upgrade(state, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
  }

  private onOpen(ws: Ws): void {
    // Upgrades that raced past the check in onUpgrade.
    if (this.closed || this.sockets.size >= this.opts.maxSubscribers) {
      ws.end(FeedCloseCode.TRY_AGAIN_LATER, 'feed is full');
      return;
    }
    this.sockets.add(ws);
    this.subscribers?.set(this.sockets.size);
  }

  private onClose(ws: Ws): void {
    const state = ws.getUserData();
    state.closed = true;
    state.generation++;
    state.onDrain?.();
    this.sockets.delete(ws);
    this.live.delete(ws);
    this.pending.delete(ws);
    this.subscribers?.set(this.sockets.size);
  }

  private onMessage(ws: Ws, message: ArrayBuffer): void {
    const state = ws.getUserData();
    try {
      const now = Date.now();
      state.recent = state.recent.filter((t) => now - t < this.opts.subscribeWindowMs);
      if (state.recent.length >= this.opts.maxSubscribesPerWindow) {
        this.sendError(ws, FeedErrorCode.RATE_LIMITED, `at most ${this.opts.maxSubscribesPerWindow} messages per ${this.opts.subscribeWindowMs} ms`);
        return;
      }
      state.recent.push(now);
      if (message.byteLength > this.opts.maxMessageBytes) {
        this.sendError(ws, FeedErrorCode.MESSAGE_TOO_LARGE, `messages are limited to ${this.opts.maxMessageBytes} bytes`);
        return;
      }
      // Buffer.from copies: uWS reuses `message` once this handler returns.
      const request = parseSubscribe(Buffer.from(message).toString('utf8'));
      if (typeof request === 'string') this.sendError(ws, FeedErrorCode.BAD_REQUEST, request);
      else this.subscribe(ws, state, request);
    } catch (err) {
      this.logger.error({ err }, 'Feed message handler failed');
    }
  }

  private subscribe(ws: Ws, state: SocketState, request: SubscribeRequest): void {
    if (state.phase === 'live') ws.unsubscribe(topicOf(state.encoding, state.payload));
    this.live.delete(ws);
    this.pending.delete(ws);
    state.generation++;
    state.encoding = request.encoding;
    state.payload = request.payload;
    if (request.from === undefined) {
      // Live only: whatever is published next, whether or not anything was published before.
      state.phase = 'live';
      ws.subscribe(topicOf(state.encoding, state.payload));
      this.live.add(ws);
    } else {
      this.replayFrom(ws, request.from - 1n);
    }
  }

  /** Starts (or restarts) a replay of the blocks after `cursor`. */
  private replayFrom(ws: Ws, cursor: bigint): void {
    const state = ws.getUserData();
    if (state.phase === 'live') ws.unsubscribe(topicOf(state.encoding, state.payload));
    this.live.delete(ws);
    this.pending.delete(ws);
    state.phase = 'replaying';
    state.cursor = cursor;
    void this.replay(ws, state, ++state.generation);
  }

  private async replay(ws: Ws, state: SocketState, generation: number): Promise<void> {
    const current = (): boolean => !state.closed && state.generation === generation;
    try {
      for (;;) {
        for await (const page of this.modules.store.pages(state.cursor + 1n, this.opts.replayPageSize)) {
          for (let sent = 0; sent < page.length; ) {
            if (!(await this.writable(ws, state)) || !current()) return;
            sent += this.sendPage(ws, state, page.slice(sent));
          }
        }
        // Live sends never wait, so a socket goes live only with room in its buffer.
        if (!(await this.writable(ws, state)) || !current()) return;
        // Synchronous from here on: `publish()` cannot run between this check and the switch.
        if (this.lastPublished !== null && state.cursor < this.lastPublished) continue;
        this.goLive(ws, state);
        return;
      }
    } catch (err) {
      if (!current()) return;
      this.logger.warn({ err, cursor: state.cursor }, 'Feed replay failed');
      state.phase = 'idle';
      ws.cork(() => this.sendError(ws, FeedErrorCode.REPLAY_FAILED, `replay failed after block ${state.cursor}; resubscribe with from=${state.cursor + 1n}`));
    }
  }

  /** Sends blocks in order until the buffer passes `maxBackpressure`; returns how many were sent (at least one). */
  private sendPage(ws: Ws, state: SocketState, blocks: StoredBlock[]): number {
    let sent = 0;
    ws.cork(() => {
      for (const b of blocks) {
        if (sent > 0 && ws.getBufferedAmount() > this.opts.maxBackpressure) break;
        const block: FeedBlock = { summary: b, epoch: b.epoch, payloadData: b.payloadData, requestsData: b.requestsData };
        ws.send(encodeBlockFrame(block, state.encoding, state.payload), state.encoding === 'msgpack');
        state.cursor = b.number;
        sent++;
      }
    });
    this.messages?.inc({ source: 'replay' }, sent);
    return sent;
  }

  /** Joins the live topic if the socket has everything published so far, else waits in `pending` for `publish()` to reach its cursor. */
  private goLive(ws: Ws, state: SocketState): void {
    this.pending.delete(ws);
    if (this.lastPublished === null || state.cursor !== this.lastPublished) {
      state.phase = 'pending';
      this.pending.add(ws);
      return;
    }
    state.phase = 'live';
    ws.subscribe(topicOf(state.encoding, state.payload));
    this.live.add(ws);
  }

  /** True at once if the buffer is under `maxBackpressure`, else after `drain`; false if closed or (closing it with 4008) after `replayDrainTimeoutMs`. */
  private writable(ws: Ws, state: SocketState): Promise<boolean> {
    if (state.closed) return Promise.resolve(false);
    if (ws.getBufferedAmount() <= this.opts.maxBackpressure) return Promise.resolve(true);
    return new Promise((resolve) => {
      const started = Date.now();
      const done = (ok: boolean): void => {
        clearInterval(poll);
        state.onDrain = null;
        resolve(ok);
      };
      const check = (): void => {
        if (state.closed) done(false);
        else if (ws.getBufferedAmount() <= this.opts.maxBackpressure) done(true);
        else if (Date.now() - started > this.opts.replayDrainTimeoutMs) {
          this.closeSlow(ws);
          done(false);
        }
      };
      // uWS's drain event does not fire for every flush of sends made outside its callbacks, so a poll backs it up.
      const poll = setInterval(check, DRAIN_POLL_MS);
      state.onDrain = check;
    });
  }

  private closeSlow(ws: Ws): void {
    if (ws.getUserData().closed) return;
    this.logger.info({ buffered: ws.getBufferedAmount() }, 'Closing slow feed subscriber');
    // Corked: outside a uWS callback an uncorked close frame can sit unflushed behind the backlog.
    ws.cork(() => ws.end(FeedCloseCode.SLOW_CONSUMER, 'slow consumer: resubscribe with from=<your cursor + 1>'));
  }

  private sendError(ws: Ws, code: FeedErrorCode, message: string): void {
    ws.send(encodeErrorFrame(code, message), false);
  }
}

/** Registers `WS /feed` on the API server's app (before `listen()`); the node feeds it through `feedSink`. */
export function attachFeed(app: TemplatedApp, opts: FeedOptions, modules: FeedModules): FeedServer {
  return new FeedServer(app, opts, modules);
}

/** The feed as the Publisher's last sink: runs after the commit, so the feed serves committed blocks only (DESIGN §4). */
export function feedSink(feed: FeedServer): BlockSink {
  return {
    name: 'feed',
    publish: async (block, epoch) => feed.publish({ ...block, epoch }),
  };
}
