import type { EngineApi } from '../adapters/engine/interface.js';
import type { IBlockStore } from '../adapters/postgres/interface.js';
import type { Actor, ActorContext, ActorRef } from '../runtime/actor.js';
import { decode } from '../runtime/codec.js';
import { CodedError } from '../runtime/errors.js';
import type { BlockEnvelope } from '../types/block.js';
import type { Data } from '../types/engine.js';
import type { StatusReport } from '../types/report.js';
import type { BlockSink } from '../types/sink.js';
import { BlockLog } from './blockLog.js';
import type { ElectorMsg, HealthMonitorMsg, MempoolWatcherMsg, PublisherMsg } from './messages.js';
import { notifyCommitted } from './notify.js';

export interface PublisherModules {
  engine: EngineApi;
  store: IBlockStore;
  report: StatusReport;
  /** In order: Redis Stream, then the WebSocket feed. */
  sinks: BlockSink[];
  /** This node's MempoolWatcher (with Redis): told of each committed block, so confirmations follow commits without a poll. */
  watcher?: ActorRef<MempoolWatcherMsg>;
  /** The HealthMonitor: told of each committed block (a leader must keep committing). */
  monitor?: ActorRef<HealthMonitorMsg>;
  /** This node's Elector: asked for the current lease deadline when the one a commit carries has passed. */
  elector?: ActorRef<ElectorMsg>;
  identity: string;
  metrics: PublisherMetrics;
}

export interface PublisherMetrics {
  observeCommit(seconds: number): void;
  observePublish(seconds: number): void;
  /** One stage of one block: build, encode, newPayload, commit, forkchoice, sink:<name>. */
  observeStage(stage: string, seconds: number): void;
  blockCommitted(number: bigint): void;
}

interface PublisherState {
  blockLog: BlockLog;
}

/**
 * The Publisher (DESIGN §2.3): nothing becomes visible before it is committed, and nothing is
 * committed that the EL did not call VALID. Order: `newPayloadV4` on our own EL (VALID, head
 * unchanged) → PostgreSQL transaction with the fence → `forkchoiceUpdatedV3` to the new head →
 * sinks (fenced Redis `XADD`, WebSocket feed). A failed commit publishes nothing; a failed sink is
 * reported on `/health` and repaired on the next term.
 */
/** How long the Publisher waits for the Elector's current lease deadline before it trusts the commit's snapshot: a few message hops, far below a block time. */
const LEASE_DEADLINE_ASK_MS = 100;

export function publisherActor(modules: PublisherModules): Actor<PublisherMsg, PublisherState> {
  const { engine, store, report, sinks, identity, metrics } = modules;

  /**
   * Refuses to go on past the local lease deadline. The deadline a `commit` carries is the Builder's
   * snapshot from the slot's start: a renewal that lands during a slow build is not in it, and
   * refusing on it alone made a loaded leader refuse its own commits until it stepped down for
   * committing nothing. So once the snapshot has passed, the Elector is asked for the term's deadline
   * now; if it does not answer in time the snapshot stands. Safety does not rest on this check:
   * every commit is fenced (DESIGN §4); it only keeps a node that has lost its lease from trying.
   */
  async function assertLease(epoch: bigint, snapshot: number, step: string, ctx: ActorContext<PublisherMsg>): Promise<number> {
    if (performance.now() < snapshot) return snapshot;
    let current: number | null = snapshot;
    if (modules.elector) {
      current = await ctx.ask<number | null, ElectorMsg>(modules.elector, { type: 'leaseDeadline', epoch }, LEASE_DEADLINE_ASK_MS).catch(() => snapshot);
    }
    if (current === null) throw new CodedError('LEASE_EXPIRED', `the term of epoch ${epoch} ended before ${step}`);
    if (performance.now() >= current) throw new CodedError('LEASE_EXPIRED', `local lease deadline passed before ${step}`);
    return current;
  }

  async function commit(msg: Extract<PublisherMsg, { type: 'commit' }>, state: PublisherState, ctx: ActorContext<PublisherMsg>): Promise<void> {
    const { block, epoch, validUntil } = msg;
    const { summary } = block;
    const commitStarted = performance.now();
    metrics.observeStage('build', msg.buildMs / 1000);
    metrics.observeStage('encode', msg.encodeMs / 1000);
    const deadline = await assertLease(epoch, validUntil, 'validation', ctx);
    const envelope = decode<BlockEnvelope>(block.payloadData);
    const requests = decode<Data[]>(block.requestsData);
    const verdict = await engine.newPayloadV4(envelope.executionPayload, envelope.versionedHashes, envelope.parentBeaconBlockRoot, requests, {
      signal: ctx.signal,
    });
    if (verdict.status !== 'VALID') {
      throw new CodedError('EL_REJECTED', `our EL answered ${verdict.status} for block ${summary.number}: ${verdict.validationError ?? 'no reason given'}`, {
        number: summary.number,
      });
    }
    await assertLease(epoch, deadline, 'commit', ctx);
    const started = performance.now();
    metrics.observeStage('newPayload', (started - commitStarted) / 1000);
    await store.commitBlock({ ...summary, payloadData: block.payloadData, requestsData: block.requestsData }, epoch, identity);
    metrics.observeCommit((performance.now() - started) / 1000);
    metrics.observeStage('commit', (performance.now() - started) / 1000);
    metrics.blockCommitted(summary.number);
    if (modules.monitor) ctx.send(modules.monitor, { type: 'committed', number: summary.number });
    state.blockLog.block({
      number: summary.number,
      hash: summary.hash,
      txs: summary.txCount,
      timings: { buildMs: msg.buildMs + msg.encodeMs, commitMs: performance.now() - commitStarted },
    });

    const publishStarted = performance.now();
    try {
      await engine.forkchoiceUpdatedV3({ headBlockHash: summary.hash, safeBlockHash: summary.hash, finalizedBlockHash: summary.hash }, null, {
        signal: ctx.signal,
      });
    } catch (err) {
      ctx.logger.warn({ err, number: summary.number }, 'forkchoiceUpdated after commit failed; the next build moves the head');
    }
    metrics.observeStage('forkchoice', (performance.now() - publishStarted) / 1000);
    for (const sink of sinks) {
      const sinkStarted = performance.now();
      try {
        await sink.publish(block, epoch);
        metrics.observeStage(`sink:${sink.name}`, (performance.now() - sinkStarted) / 1000);
        report.problem(sink.name, null);
      } catch (err) {
        // An incarnation cut off by its deadline (a publish hung on a partitioned Redis) reports nothing:
        // its late failure would outlive the term as a problem no later publish on this node clears.
        if (ctx.signal.aborted) throw err;
        report.problem(sink.name, `publishing block ${summary.number} failed: ${(err as Error).message}`);
        ctx.logger.error({ err, sink: sink.name, number: summary.number }, 'Publishing a committed block failed');
      }
    }
    metrics.observePublish((performance.now() - publishStarted) / 1000);
    notifyCommitted(ctx, modules.watcher, summary.number);
  }

  /** No sink problem stands for a term this Publisher no longer serves. */
  function clearSinkProblems(): void {
    for (const sink of sinks) report.problem(sink.name, null);
  }

  return {
    init: (ctx) => {
      // A new incarnation has published nothing yet: a sink problem of the last one belongs to a
      // publish it will never retry. Left standing, it kept an ex-leader unhealthy for good when the
      // Builder behind it was restarted too and never sent `termEnded` (a chaos run: 90 s and on).
      clearSinkProblems();
      return { blockLog: new BlockLog(ctx.logger, 'Block committed') };
    },
    async handle(msg, state, ctx) {
      switch (msg.type) {
        case 'commit':
          try {
            await commit(msg, state, ctx);
            ctx.reply({ number: msg.block.summary.number });
          } catch (err) {
            if (ctx.signal.aborted || !(err instanceof CodedError)) throw err;
            ctx.replyError(err); // a refused commit (fence, EL verdict, lease) is an answer, not a crash
          }
          return state;
        case 'repairStream':
          for (const sink of sinks) {
            try {
              const republished = await sink.repair?.(msg.epoch);
              if (republished) ctx.logger.info({ sink: sink.name, republished }, 'Re-published committed blocks missing from the sink');
            } catch (err) {
              // The sink (Redis) is down: a crash here would restart the Builder and Elector behind us (rest_for_one).
              if (ctx.signal.aborted) throw err;
              report.problem(sink.name, `repairing ${sink.name} failed: ${(err as Error).message}`);
              ctx.logger.error({ err, sink: sink.name }, 'Repairing a sink failed; it stays unhealthy until a publish succeeds');
            }
          }
          return state;
        case 'termEnded':
          clearSinkProblems();
          return state;
      }
    },
  };
}
