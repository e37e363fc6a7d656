import { FeedClient } from '../adapters/feed/client.js';
import type { Actor, ActorContext, ActorRef } from '../runtime/actor.js';
import { backoffDelay } from '../runtime/backoff.js';
import type { CodedError } from '../runtime/errors.js';
import type { SyncBlock } from '../types/block.js';
import type { LeaderInfo } from '../types/leader.js';
import type { StatusReport } from '../types/report.js';
import { ExecutorErrorCode, type SyncPosition } from './executor.js';
import type { ElectorMsg, ExecutorMsg, SyncerMsg } from './messages.js';

export interface SyncerOptions {
  /** `--leader-url`: follow this API URL instead of the lease's advertised one. */
  leaderUrl?: string;
  /** This node's identity: a leader-capable node never follows itself. */
  identity: string;
  /**
   * A standby leader stops syncing while it leads (its Builder owns the EL then) and resumes
   * when it stops leading; a member always syncs.
   */
  standby: boolean;
}

export interface SyncerModules {
  report: StatusReport;
  executor: ActorRef<ExecutorMsg>;
  /** A standby's Elector, asked where leadership stands when this Syncer (re)starts. */
  elector?: ActorRef<ElectorMsg>;
}

/** Blocks held from the feed ahead of the Executor; past it the feed is paused (TCP backpressure). */
const QUEUE_MAX = 64;
/** More than this many blocks behind the leader: backfill over HTTP pages instead of a feed replay. */
const BACKFILL_THRESHOLD = 32;
/** `GET /blocks?limit=`: the API also caps a page by bytes, so big blocks come in smaller pages. */
const BACKFILL_PAGE = 64;
/** Executor asks per tick, so one handler stays far inside its deadline (a big block executes in seconds). */
const EXECUTE_PER_TICK = 16;
const EXECUTE_TIMEOUT_MS = 25_000;
const FETCH_TIMEOUT_MS = 10_000;
/** Retry delays: 200 ms doubling to 30 s, with jitter, so a down leader is polled, not hammered (and members do not retry in step). */
const BACKOFF = { minMs: 200, maxMs: 30_000, jitter: true };
/** How often an idle Syncer (leading, or no leader known) looks again. */
const IDLE_MS = 250;

interface Source {
  url: string;
  feed: FeedClient;
}

interface SyncerState {
  position: SyncPosition | null;
  source: Source | null;
  /** Contiguous blocks from `position.lastSynced + 1`, filled by the feed. */
  queue: SyncBlock[];
  failures: number;
  /**
   * The one tick loop: the sequence number of the tick it waits for. Every tick sent or scheduled
   * takes the next number, so a tick made stale (a wake came before a scheduled one) is dropped
   * instead of starting a second loop beside the first.
   */
  tickSeq: number;
  /** A tick is sent to run at once: a feed block need not send another. */
  tickPending: boolean;
  /** A tick is running: a wake then only asks it to tick again at once when it ends. */
  ticking: boolean;
  wakeWanted: boolean;
  halted: boolean;
  /** The lease holder, as the HealthMonitor last reported it. */
  leader: LeaderInfo | null;
  /**
   * Whether this node leads (a standby's Elector says so); null until it has said. A standby
   * that does not know yet must not touch its EL: its Builder may be driving it.
   */
  leading: boolean | null;
}

/**
 * The Syncer (DESIGN §2.4): follows the current leader — `--leader-url`, else the API URL the
 * lease holder advertises, re-read every tick so a leadership change is followed without a
 * restart. Far behind, it backfills from `GET /blocks?after=N&limit=M` (parsed on the pool); near
 * the head it subscribes to the leader's feed from `lastSynced + 1`. Blocks go to the Executor
 * strictly in order, one ask at a time; the queue is bounded and the feed paused when it is full.
 */
export function syncerActor(opts: SyncerOptions, modules: SyncerModules): Actor<SyncerMsg, SyncerState> {
  const { report } = modules;

  function leaderUrl(state: SyncerState): string | null {
    if (opts.leaderUrl) return opts.leaderUrl.replace(/\/+$/, '');
    if (!state.leader || state.leader.holder === opts.identity) return null;
    return state.leader.apiUrl?.replace(/\/+$/, '') ?? null;
  }

  /** A standby stands aside while it leads, or while it does not know yet whether it does. */
  function standsAside(state: SyncerState): boolean {
    return opts.standby && state.leading !== false;
  }

  /** Tick at once (a block arrived, leadership changed): the tick waited for, if any, is superseded. */
  function wake(state: SyncerState, ctx: ActorContext<SyncerMsg>): void {
    if (state.ticking) {
      state.wakeWanted = true;
      return;
    }
    if (state.tickPending) return;
    state.tickPending = true;
    ctx.send(ctx.self, { type: 'tick', loop: ctx.incarnation, seq: ++state.tickSeq });
  }

  function scheduleTick(state: SyncerState, ctx: ActorContext<SyncerMsg>, inMs: number): void {
    ctx.schedule(inMs, { type: 'tick', loop: ctx.incarnation, seq: ++state.tickSeq });
  }

  function openFeed(state: SyncerState, ctx: ActorContext<SyncerMsg>, url: string): void {
    const feed = new FeedClient({ url: `${url.replace(/^http/, 'ws')}/feed`, cursor: state.position!.lastSynced });
    feed.on('block', (block) => {
      if (state.source?.feed !== feed) return;
      state.queue.push({ ...block, leader: null });
      report.updateSync({ sourceHead: block.number });
      if (state.queue.length >= QUEUE_MAX) feed.pause();
      wake(state, ctx);
    });
    feed.on('problem', (p) => ctx.logger.debug({ problem: p }, 'Feed problem (the client recovers by itself)'));
    feed.start();
    state.source = { url, feed };
    ctx.logger.info({ url, from: state.position!.lastSynced + 1n }, 'Following the leader’s feed');
  }

  function closeSource(state: SyncerState): void {
    void state.source?.feed.stop();
    state.source = null;
    state.queue = [];
  }

  async function fetchBytes(url: string, signal: AbortSignal): Promise<Uint8Array> {
    const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)]) });
    if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** How far the leader is ahead of us, from `/blocks/latest` (null: it has committed nothing). */
  async function leaderHead(url: string, signal: AbortSignal): Promise<bigint | null> {
    const res = await fetch(`${url}/blocks/latest`, { signal: AbortSignal.any([signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)]) });
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`${url}/blocks/latest answered HTTP ${res.status}`);
    const { block_number } = (await res.json()) as { block_number: number | string };
    return BigInt(block_number);
  }

  async function backfill(state: SyncerState, ctx: ActorContext<SyncerMsg>, url: string): Promise<void> {
    const body = await fetchBytes(`${url}/blocks?after=${state.position!.lastSynced}&limit=${BACKFILL_PAGE}`, ctx.signal);
    const page = await ctx.pool.run('decodeBlockPage', body);
    state.queue = page.filter((b) => b.number > state.position!.lastSynced);
    if (page.length) report.updateSync({ sourceHead: page.at(-1)!.number });
  }

  /** Hands queued blocks to the Executor in order; returns false when it must back off. */
  async function drain(state: SyncerState, ctx: ActorContext<SyncerMsg>): Promise<void> {
    for (let i = 0; i < EXECUTE_PER_TICK && state.queue.length > 0; i++) {
      if (standsAside(state)) return; // the Builder owns the EL from now on
      const block = state.queue[0]!;
      if (block.number <= state.position!.lastSynced) {
        state.queue.shift();
        continue;
      }
      state.position = await ctx.ask<SyncPosition, ExecutorMsg>(modules.executor, { type: 'execute', block }, EXECUTE_TIMEOUT_MS);
      state.queue.shift();
      state.failures = 0;
      report.problem('sync', null);
    }
    if (state.queue.length < QUEUE_MAX / 2) state.source?.feed.resume();
  }

  function onFailure(state: SyncerState, ctx: ActorContext<SyncerMsg>, err: Error): number {
    const code = (err as CodedError).code;
    switch (code) {
      case ExecutorErrorCode.HALTED:
        state.halted = true;
        closeSource(state);
        return -1;
      case ExecutorErrorCode.OUT_OF_ORDER:
      case ExecutorErrorCode.REWOUND:
        // Re-read the position and resubscribe from it: the queue no longer starts at lastSynced + 1.
        state.position = null;
        closeSource(state);
        return 0;
      default:
        state.failures++;
        report.problem('sync', `syncing stalled: ${err.message}`);
        ctx.logger.warn({ err: err.message, code, failures: state.failures }, 'Sync step failed; backing off');
        if (code !== ExecutorErrorCode.RETRY) closeSource(state); // a source problem: reconnect from the position
        return backoffDelay(state.failures, BACKOFF);
    }
  }

  async function tick(state: SyncerState, ctx: ActorContext<SyncerMsg>): Promise<number> {
    if (standsAside(state)) {
      // The Builder drives the EL now; re-read the position when we stand by again. A stall
      // while following is no problem of a leader's: it must not make the leader's /health 503.
      closeSource(state);
      state.position = null;
      state.failures = 0;
      report.clearSync();
      report.problem('sync', null);
      return IDLE_MS;
    }
    state.position ??= await ctx.ask<SyncPosition, ExecutorMsg>(modules.executor, { type: 'position' }, EXECUTE_TIMEOUT_MS);
    const url = leaderUrl(state);
    report.updateSync({ source: url });
    if (!url) {
      closeSource(state);
      return IDLE_MS;
    }
    if (state.source && state.source.url !== url) {
      ctx.logger.info({ from: state.source.url, to: url }, 'Leader changed; following the new one');
      closeSource(state);
    }
    if (!state.source && state.queue.length === 0) {
      const head = await leaderHead(url, ctx.signal);
      if (head !== null) report.updateSync({ sourceHead: head });
      if (head !== null && head - state.position.lastSynced > BACKFILL_THRESHOLD) await backfill(state, ctx, url);
      else openFeed(state, ctx, url);
    }
    await drain(state, ctx);
    // Behind without a feed (backfilling): next page at once; otherwise the feed wakes us.
    return !state.source ? 0 : state.queue.length > 0 ? 0 : IDLE_MS;
  }

  return {
    init(ctx) {
      const state: SyncerState = {
        position: null,
        source: null,
        queue: [],
        failures: 0,
        tickSeq: 0,
        tickPending: false,
        ticking: false,
        wakeWanted: false,
        halted: false,
        leader: null,
        leading: opts.standby ? null : false,
      };
      ctx.signal.addEventListener('abort', () => closeSource(state), { once: true });
      if (modules.elector) ctx.send(modules.elector, { type: 'tellLeadership', to: ctx.self });
      wake(state, ctx);
      return state;
    },
    async handle(msg, state, ctx) {
      switch (msg.type) {
        case 'tick': {
          if (msg.loop !== ctx.incarnation) return state; // the last incarnation's, handed over by its crash
          if (msg.seq !== state.tickSeq) return state; // superseded by a later tick: the loop goes on there
          state.tickPending = false;
          if (state.halted) return state;
          let nextInMs: number;
          state.ticking = true;
          state.wakeWanted = false;
          try {
            nextInMs = await tick(state, ctx);
          } catch (err) {
            if (ctx.signal.aborted) throw err;
            nextInMs = onFailure(state, ctx, err as Error);
          } finally {
            state.ticking = false;
          }
          if (nextInMs === 0 || (state.wakeWanted && nextInMs > 0)) wake(state, ctx);
          else if (nextInMs > 0) scheduleTick(state, ctx, nextInMs);
          return state;
        }
        case 'leader':
          state.leader = msg.leader;
          return state;
        case 'leadershipAcquired':
          state.leading = true;
          return state;
        case 'leadershipLost':
        case 'notLeading':
          state.leading = false;
          wake(state, ctx);
          return state;
        case 'leaseExtended':
          return state;
      }
    },
    async terminate(state) {
      closeSource(state);
    },
  };
}
