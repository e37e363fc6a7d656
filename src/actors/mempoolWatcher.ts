import { Elector } from '../adapters/lease/elector.js';
import type { LeaseBackend } from '../adapters/lease/interface.js';
import type { TxJudge, TxVerdict } from '../adapters/mempool/elCheck.js';
import type { ConfirmResult, Mempool, MempoolTx } from '../adapters/mempool/interface.js';
import type { MempoolMetrics } from '../adapters/mempool/metrics.js';
import { watcherLockToken } from '../adapters/mempool/scripts.js';
import type { Actor, ActorContext } from '../runtime/actor.js';
import type { MempoolWatcherMsg } from './messages.js';

/** A committed block as the watcher needs it: its number and the hashes of its transactions. */
export interface CommittedBlockTxs {
  number: bigint;
  hash: string;
  txHashes: string[];
}

export interface MempoolWatcherOptions {
  /** This node's name in the lock (`--instance-id`). */
  identity: string;
  /** Lock TTL (`--mempool-watcher-lock-ttl`): how long a dead watcher blocks confirmations. Default 10 s. */
  lockTtlMs?: number;
  /** Pause between acquire attempts by a non-holder. Default: a tenth of the TTL, so a takeover lands within ~1.1 TTL. */
  lockRetryMs?: number;
  /** Blocks read per `blocksAfter` call while catching up. */
  catchUpPage?: number;
  /**
   * The fallback: while holding the lock, look for committed blocks this often even without a
   * `blockCommitted` notice (one lost to a full mailbox, or a block this node neither committed
   * nor executed). Off when unset.
   */
  pollIntervalMs?: number;
}

export const MEMPOOL_WATCHER_DEFAULTS = {
  lockTtlMs: 10_000,
  /** Large enough that a long outage is crossed in few reads, small enough for one handler's deadline. */
  catchUpPage: 100,
} as const;

export interface MempoolWatcherModules {
  mempool: Mempool;
  /** The watcher lock (a `RedisLease` on the watcher keys, whose tokens the mempool scripts check). */
  lock: LeaseBackend;
  /**
   * Committed blocks with number > `after`, ascending, at most `limit`; fewer means none beyond.
   * Every node has them in its own PostgreSQL store (the Executor stores what it replays).
   */
  blocksAfter(after: bigint, limit: number, signal: AbortSignal): Promise<CommittedBlockTxs[]>;
  /**
   * Where confirming starts on a fresh mempool (nothing confirmed yet): the number before the first
   * block to confirm, or null to wait for the next `blockCommitted`. A node passes its first stored
   * block − 1, so a transaction included before the watcher first ran is still finalized.
   */
  startAfter?(signal: AbortSignal): Promise<bigint | null>;
  /** Asked about each transaction sent back to pending: keep it, queue it behind its nonce gap, or drop it (`engineTxJudge`). */
  judgeTx: TxJudge;
  metrics: Pick<MempoolMetrics, 'blockConfirmed' | 'dropped' | 'queued' | 'watcher'>;
}

interface WatcherState {
  elector: Elector;
  /** The last block this watcher saw confirmed (by itself or, on 'already', by another): the next notice in sequence is confirmed directly. */
  lastConfirmed: bigint | null;
}

/** A catch-up yields to the mailbox after this long, so committed-block messages are not starved. */
const CATCH_UP_BUDGET_MS = 5_000;

/**
 * The MempoolWatcher (DESIGN §2.7). Runs on every node; only the holder of the watcher lock
 * confirms. The lock is driven by an `Elector` (renewal on its own timer, demotion by the local
 * deadline, release on stop); confirmations do not trust that local view alone: every confirm and
 * drop script re-checks the lock token atomically with its writes.
 *
 * Exactly once and in order: the confirm script accepts only last confirmed + 1 ('already' for a
 * replay, 'gap' for a jump). On a gap, and whenever it gains the lock, the watcher reads the
 * missing blocks from `blocksAfter` and confirms them one by one, so blocks committed while no
 * node held the lock (or while this one lagged) are neither skipped nor counted twice.
 */
export function mempoolWatcherActor(opts: MempoolWatcherOptions, modules: MempoolWatcherModules): Actor<MempoolWatcherMsg, WatcherState> {
  const { mempool, metrics } = modules;
  const lockTtlMs = opts.lockTtlMs ?? MEMPOOL_WATCHER_DEFAULTS.lockTtlMs;
  const catchUpPage = opts.catchUpPage ?? MEMPOOL_WATCHER_DEFAULTS.catchUpPage;

  /** The token to write with, or null when this node does not hold the lock by its own clock. */
  function lockToken(state: WatcherState): string | null {
    const epoch = state.elector.epoch();
    return epoch === null ? null : watcherLockToken(opts.identity, epoch);
  }

  /** Confirms one block; answers whether the caller may go on to the next one. */
  async function confirm(block: CommittedBlockTxs, token: string, state: WatcherState, ctx: ActorContext<MempoolWatcherMsg>): Promise<ConfirmResult['status']> {
    const result = await mempool.confirmBlock({ blockNumber: block.number, txHashes: block.txHashes, lockToken: token });
    const log = { number: block.number, hash: block.hash };
    if (result.status === 'confirmed') state.lastConfirmed = block.number;
    if (result.status === 'already' || result.status === 'gap') state.lastConfirmed = result.lastConfirmed;
    switch (result.status) {
      case 'confirmed':
        metrics.blockConfirmed(block.number, result.finalized, result.requeued.length);
        ctx.logger.debug({ ...log, finalized: result.finalized, requeued: result.requeued.length }, 'Block confirmed');
        await judgeRequeued(result.requeued, token, ctx);
        await expireQueued(token, ctx);
        break;
      case 'already':
        ctx.logger.debug({ ...log, lastConfirmed: result.lastConfirmed }, 'Block already confirmed');
        break;
      case 'gap':
        ctx.logger.info({ ...log, lastConfirmed: result.lastConfirmed }, 'Confirmations behind the committed chain; catching up');
        break;
      case 'notWatcher':
        ctx.logger.debug(log, 'not watcher, skipping confirm');
        break;
    }
    return result.status;
  }

  /**
   * Transactions back in pending after too many blocks without them are judged against the EL:
   * one it can include waits for the next batch, one behind a nonce gap waits in queued (not
   * resubmitted until the gap is filled), one it can never include is dropped with the reason.
   * If the EL cannot be asked, the rest of the list stays pending for next time.
   */
  async function judgeRequeued(requeued: MempoolTx[], token: string, ctx: ActorContext<MempoolWatcherMsg>): Promise<void> {
    for (const tx of requeued) {
      let verdict: TxVerdict;
      try {
        verdict = await modules.judgeTx(tx, ctx.signal);
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        ctx.logger.warn({ err, hash: tx.hash, unchecked: requeued.length }, 'Cannot ask the EL about requeued transactions; they stay pending');
        return;
      }
      const log = { hash: tx.hash, reason: (verdict as { reason?: string }).reason };
      switch (verdict.action) {
        case 'keep':
          break;
        case 'queue': {
          const result = await mempool.queue(tx.hash, verdict.reason, token);
          if (result === 'queued') {
            metrics.queued();
            ctx.logger.info(log, 'Queued a transaction behind its nonce gap');
          } else if (result === 'dropped') {
            metrics.dropped();
            ctx.logger.info(log, 'Dropped a transaction behind a nonce gap: the queued set is full');
          }
          break;
        }
        case 'drop':
          if ((await mempool.drop(tx.hash, verdict.reason, token)) === 'dropped') {
            metrics.dropped();
            ctx.logger.info(log, 'Dropped a transaction that can never be included');
          }
          break;
      }
    }
  }

  /** Queued transactions past the lifetime are dropped, once per confirmed block. */
  async function expireQueued(token: string, ctx: ActorContext<MempoolWatcherMsg>): Promise<void> {
    const expired = await mempool.expireQueued(token);
    if (!expired) return;
    metrics.dropped(expired);
    ctx.logger.info({ expired }, 'Dropped queued transactions past the mempool lifetime');
  }

  /**
   * Confirms committed blocks after the last confirmed one until none are left or the budget is
   * spent. With nothing confirmed yet it starts where the node says the chain starts, else after
   * `firstAfter` (the block before the one just committed), else at the next committed block.
   */
  async function catchUp(token: string, state: WatcherState, ctx: ActorContext<MempoolWatcherMsg>, firstAfter: bigint | null = null): Promise<void> {
    const started = performance.now();
    let after = (await mempool.lastConfirmed()) ?? (await modules.startAfter?.(ctx.signal)) ?? firstAfter;
    if (after === null) return;
    for (;;) {
      const blocks = await modules.blocksAfter(after, catchUpPage, ctx.signal);
      for (const block of blocks) {
        const status = await confirm(block, token, state, ctx);
        // 'gap' here means the reader skipped a number: retried on the next message, never jumped over.
        if (status === 'notWatcher' || status === 'gap') return;
        after = block.number;
      }
      if (blocks.length < catchUpPage) return;
      if (performance.now() - started > CATCH_UP_BUDGET_MS) {
        ctx.send(ctx.self, { type: 'catchUp' });
        return;
      }
    }
  }

  /**
   * A block was committed: the next one in sequence is confirmed at once (one script call); any
   * other number is caught up to from the store, so nothing is skipped or counted twice.
   */
  async function onCommitted(number: bigint, token: string, state: WatcherState, ctx: ActorContext<MempoolWatcherMsg>): Promise<void> {
    if (state.lastConfirmed !== null && number <= state.lastConfirmed) return;
    if (state.lastConfirmed !== null && number === state.lastConfirmed + 1n) {
      const [block] = await modules.blocksAfter(state.lastConfirmed, 1, ctx.signal);
      if (block?.number === number && (await confirm(block, token, state, ctx)) !== 'gap') return;
    }
    await catchUp(token, state, ctx, number - 1n);
  }

  return {
    init(ctx) {
      const elector = new Elector(modules.lock, {
        identity: opts.identity,
        leaseDurationMs: lockTtlMs,
        retryIntervalMs: opts.lockRetryMs ?? Math.max(50, Math.floor(lockTtlMs / 10)),
      });
      elector.on('acquired', ({ epoch }) => {
        metrics.watcher(true);
        ctx.logger.info({ epoch }, 'acquired watcher lock');
        try {
          ctx.send(ctx.self, { type: 'catchUp' });
        } catch (err) {
          // A full mailbox holds committed blocks: the first one past a gap starts the catch-up anyway.
          ctx.logger.debug({ err }, 'Catch-up not queued');
        }
      });
      elector.on('renewed', ({ epoch }) => ctx.logger.debug({ epoch }, 'watcher lock renewed'));
      elector.on('lost', ({ epoch, reason }) => {
        metrics.watcher(false);
        if (ctx.signal.aborted) ctx.logger.info({ epoch }, 'released watcher lock');
        else ctx.logger.warn({ epoch, reason }, 'lost watcher lock');
      });
      elector.start(ctx.signal);
      if (opts.pollIntervalMs) {
        const poll = setInterval(() => {
          if (!elector.isLeader()) return;
          try {
            ctx.send(ctx.self, { type: 'catchUp' });
          } catch {
            // A full mailbox already holds work; the next poll tries again.
          }
        }, opts.pollIntervalMs);
        ctx.signal.addEventListener('abort', () => clearInterval(poll), { once: true });
      }
      return { elector, lastConfirmed: null };
    },

    async handle(msg, state, ctx) {
      const token = lockToken(state);
      if (token === null) {
        if (msg.type === 'blockCommitted') ctx.logger.debug({ number: msg.number }, 'not watcher, skipping confirm');
        return state;
      }
      try {
        switch (msg.type) {
          case 'blockCommitted':
            await onCommitted(msg.number, token, state, ctx);
            return state;
          case 'catchUp':
            await catchUp(token, state, ctx);
            return state;
        }
      } catch (err) {
        // Redis or the store is unreachable: not a fault of this actor. Crashing would restart it in a
        // loop and, past the restart intensity, stop the whole node; the next poll or block retries.
        if (ctx.signal.aborted) throw err;
        ctx.logger.warn({ err: (err as Error).message }, 'Confirming failed; retrying with the next block or poll');
        return state;
      }
    },

    async terminate(state) {
      await state.elector.stop();
    },
  };
}
