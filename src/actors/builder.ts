import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineApi } from '../adapters/engine/interface.js';
import type { Mempool } from '../adapters/mempool/interface.js';
import type { IBlockStore } from '../adapters/postgres/interface.js';
import type { Actor, ActorContext, ActorRef } from '../runtime/actor.js';
import { backoffDelay } from '../runtime/backoff.js';
import { decode } from '../runtime/codec.js';
import { CodedError } from '../runtime/errors.js';
import type { BlockEnvelope, EncodedBlock } from '../types/block.js';
import type { Data, PayloadAttributesV3 } from '../types/engine.js';
import type { StatusReport } from '../types/report.js';
import type { BuilderMsg, ElectorMsg, HealthMonitorMsg, PublisherMsg } from './messages.js';

export interface BuilderOptions {
  blockTimeMs: number;
  feeRecipient: Data;
  /** Time the EL gets to fill a payload between forkchoiceUpdated and getPayload. */
  buildWaitMs: number;
  /** A build starts only if the lease is valid for at least this long: enough to build and commit. */
  leaseGuardMs: number;
  /** Transactions taken from the shared mempool per block (`--mempool-batch-size`). */
  mempoolBatchSize: number;
  /**
   * How long one handler may spend replaying committed blocks into the EL before it yields (and
   * continues on the next tick): well inside the Builder's handler deadline.
   */
  replayBudgetMs: number;
  /** How long to wait for the Publisher's commit: within this Builder's own deadline, so a hung Publisher is a failed slot here, not a crash. */
  commitTimeoutMs: number;
}

export interface BuilderModules {
  engine: EngineApi;
  store: IBlockStore;
  report: StatusReport;
  /** The shared mempool (with `--redis-addr`): batches move pending → inflight → this EL's txpool before each block. */
  mempool?: Pick<Mempool, 'takeBatch' | 'inflight'>;
  publisher: ActorRef<PublisherMsg>;
  elector: ActorRef<ElectorMsg>;
  /** Told of every failed slot, so it can judge production (and the EL) as it goes. */
  monitor?: ActorRef<HealthMonitorMsg>;
}

/** The block a new block is built on: the committed head (or genesis on an empty chain). */
interface Head {
  number: bigint;
  hash: Data;
  timestamp: bigint;
}

interface BuilderState {
  term: { epoch: bigint; validUntil: number } | null;
  /** Set once the EL is at the committed head for this term (hash-gated resume done). */
  head: Head | null;
  /** The PostgreSQL fence was raised to this term's epoch (the term's first write, before reading the head). */
  fenced: boolean;
  /** This term resubmitted the mempool's inflight transactions (a predecessor's batches) to our EL. */
  resubmitted: boolean;
  /**
   * Mempool transactions handed to our EL and not yet seen in a built block. A batch only tops this
   * up to `mempoolBatchSize`: the EL builds from its whole txpool, and an EL that builds slowly
   * (the embedded one is quadratic in a block's transactions) must not be handed ever-larger blocks.
   */
  handedToEl: number;
  consecutiveFailures: number;
  /** No block built yet in this term: the first gets half the build wait (see `buildOne`). */
  firstOfTerm: boolean;
}

/** Failures that say the EL itself is not answering (not a refused block or a moved chain). */
const ENGINE_FAILURES = new Set(['ENGINE_UNREACHABLE', 'ENGINE_TIMEOUT', 'ENGINE_HTTP', 'ENGINE_PARSE', 'EL_NO_HEAD']);

/** Committed blocks read from the store per replay step (the time budget usually ends a step first). */
const REPLAY_BATCH = 32;
/** Retry delays after failures: 250 ms doubling to 5 s, so an EL or database outage is polled, not hammered. */
const BACKOFF = { minMs: 250, maxMs: 5_000, jitter: false };
const ZERO_HASH: Data = `0x${'00'.repeat(32)}`;

/**
 * The Builder (DESIGN §2.2). On acquiring leadership it first raises the PostgreSQL fence to its
 * epoch (so a deposed leader's in-flight block cannot commit behind its back), then resumes from the committed head, hash-gated:
 * it finds the highest height where its EL and PostgreSQL agree, replays committed blocks the EL
 * lacks, and forkchoice-updates back to the committed head (discarding any uncommitted block).
 * Then, once per slot while its lease is valid: forkchoiceUpdated with attributes → wait →
 * getPayload → encode on the pool → `commit` to the Publisher.
 */
export function builderActor(opts: BuilderOptions, modules: BuilderModules): Actor<BuilderMsg, BuilderState> {
  const { engine, store, report } = modules;

  function forkchoice(hash: Data) {
    return { headBlockHash: hash, safeBlockHash: hash, finalizedBlockHash: hash };
  }

  /** One step of the hash-gated resume; returns the head once the EL stands on the committed head. */
  async function resumeStep(ctx: ActorContext<BuilderMsg>): Promise<Head | null> {
    const committed = await store.head();
    const elHead = await engine.getBlockByNumber('latest');
    if (!elHead) throw new CodedError('EL_NO_HEAD', 'the EL returned no latest block');
    const target = committed ?? (await engine.getBlockByNumber(0));
    if (!target) throw new CodedError('EL_NO_HEAD', 'the EL returned no genesis block');
    let agreed = elHead.number < target.number ? elHead.number : target.number;
    while (agreed > 0n && !(await sameBlockAt(agreed))) agreed--;
    if (agreed < target.number) {
      const started = performance.now();
      const batch = await store.range(agreed, REPLAY_BATCH);
      ctx.logger.info({ from: agreed + 1n, upTo: batch.at(-1)?.number, committedHead: target.number }, 'Replaying committed blocks into the EL');
      let last: (typeof batch)[number] | undefined;
      for (const block of batch) {
        if (last && performance.now() - started > opts.replayBudgetMs) break; // yield: the next tick goes on from here
        const envelope = decode<BlockEnvelope>(block.payloadData);
        const requests = decode<Data[]>(block.requestsData);
        const result = await engine.newPayloadV4(envelope.executionPayload, envelope.versionedHashes, envelope.parentBeaconBlockRoot, requests, {
          signal: ctx.signal,
        });
        if (result.status !== 'VALID') {
          throw new CodedError(
            'EL_REJECTED_COMMITTED',
            `the EL answered ${result.status} for committed block ${block.number}: ${result.validationError ?? ''}`,
            { number: block.number },
          );
        }
        last = block;
      }
      if (last && last.number < target.number) {
        await engine.forkchoiceUpdatedV3(forkchoice(last.hash), null, { signal: ctx.signal });
        return null; // more to replay on the next tick
      }
    }
    const result = await engine.forkchoiceUpdatedV3(forkchoice(target.hash), null, { signal: ctx.signal });
    if (result.payloadStatus.status !== 'VALID') {
      throw new CodedError('EL_NOT_AT_HEAD', `the EL answered ${result.payloadStatus.status} to forkchoice on the committed head ${target.number}`);
    }
    ctx.logger.info({ number: target.number, hash: target.hash, elHeadWas: elHead.number }, 'EL resumed at the committed head');
    return { number: target.number, hash: target.hash, timestamp: target.timestamp };
  }

  /** Does the EL's block at `number` equal the committed one? Below the first committed block, the EL's chain is shared history. */
  async function sameBlockAt(number: bigint): Promise<boolean> {
    const [committed, el] = await Promise.all([store.getByNumber(number), engine.getBlockByNumber(number)]);
    if (!el) return false;
    return committed === null || committed.hash.toLowerCase() === el.hash.toLowerCase();
  }

  async function buildOne(state: BuilderState, ctx: ActorContext<BuilderMsg>, term: NonNullable<BuilderState['term']>): Promise<Head> {
    const parent = state.head!;
    const nowSeconds = BigInt(Math.floor(Date.now() / 1000));
    const timestamp = nowSeconds > parent.timestamp ? nowSeconds : parent.timestamp + 1n;
    const attributes: PayloadAttributesV3 = {
      timestamp: `0x${timestamp.toString(16)}`,
      prevRandao: parent.hash, // no beacon chain: any value members agree on; the parent hash is unique per height
      suggestedFeeRecipient: opts.feeRecipient,
      withdrawals: [],
      parentBeaconBlockRoot: ZERO_HASH,
    };
    await feedFromMempool(state, ctx, term.epoch);
    const started = performance.now();
    const fcu = await engine.forkchoiceUpdatedV3(forkchoice(parent.hash), attributes, { signal: ctx.signal });
    if (fcu.payloadStatus.status !== 'VALID' || fcu.payloadId === null) {
      throw new CodedError('EL_NOT_BUILDING', `forkchoiceUpdated on ${parent.number} answered ${fcu.payloadStatus.status} without a payload id`);
    }
    // A term's first block follows a handoff that already cost the chain time: half the build wait
    // keeps a graceful handoff within one block time, at the price of a smaller first block.
    const buildWaitMs = state.firstOfTerm ? opts.buildWaitMs / 2 : opts.buildWaitMs;
    await sleep(Math.max(0, buildWaitMs - (performance.now() - started)), undefined, { signal: ctx.signal });
    const built = await engine.getPayloadV4(fcu.payloadId, { signal: ctx.signal });
    const encodeStarted = performance.now();
    const encoded: EncodedBlock = await ctx.pool.run('encodeBlock', {
      executionPayload: built.executionPayload,
      blobCommitments: built.blobsBundle.commitments,
      parentBeaconBlockRoot: attributes.parentBeaconBlockRoot,
      executionRequests: built.executionRequests,
    });
    const { summary } = encoded;
    state.handedToEl = Math.max(0, state.handedToEl - summary.txCount);
    if (summary.number !== parent.number + 1n || summary.parentHash !== parent.hash.toLowerCase()) {
      throw new CodedError(
        'EL_WRONG_PARENT',
        `the EL built ${summary.number} on ${summary.parentHash}, not on the committed head ${parent.number} ${parent.hash}`,
      );
    }
    const encodeMs = performance.now() - encodeStarted;
    const buildMs = encodeStarted - started;
    await ctx.ask<{ number: bigint }, PublisherMsg>(
      modules.publisher,
      { type: 'commit', block: encoded, epoch: term.epoch, validUntil: term.validUntil, buildMs, encodeMs },
      opts.commitTimeoutMs,
    );
    return { number: summary.number, hash: summary.hash, timestamp: summary.timestamp };
  }

  /**
   * Before building: once per term, resubmit every inflight transaction (a predecessor may have
   * taken a batch and died before including it); then move the next batch pending → inflight,
   * tagged with our epoch, into our EL's txpool. The mempool serves production, never blocks it:
   * a Redis or txpool failure is logged and the block is built with what the EL already has.
   */
  async function feedFromMempool(state: BuilderState, ctx: ActorContext<BuilderMsg>, epoch: bigint): Promise<void> {
    const mempool = modules.mempool;
    if (!mempool) return;
    try {
      if (!state.resubmitted) {
        const inflight = await mempool.inflight();
        await submitAll(inflight, ctx);
        state.resubmitted = true;
        state.handedToEl = inflight.length;
        if (inflight.length) ctx.logger.info({ count: inflight.length }, 'Resubmitted inflight transactions to our EL');
      }
      const room = opts.mempoolBatchSize - state.handedToEl;
      if (room > 0) {
        const batch = await mempool.takeBatch(room, epoch);
        await submitAll(batch, ctx);
        state.handedToEl += batch.length;
      }
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      ctx.logger.warn({ err }, 'Taking transactions from the shared mempool failed; building without them');
    }
  }

  /**
   * Into our EL's txpool one at a time, in mempool (arrival) order: an EL may refuse a sender's
   * nonce n+1 that arrives before its nonce n, and every later nonce of that sender would then be
   * stuck behind the gap. A refusal ("already known", nonce too low) is the watcher's to judge.
   */
  async function submitAll(txs: { hash: string; raw: string }[], ctx: ActorContext<BuilderMsg>): Promise<void> {
    for (const tx of txs) {
      await engine.sendRawTransaction(tx.raw, { signal: ctx.signal }).catch((err: Error) => {
        if (ctx.signal.aborted) throw err;
        ctx.logger.debug({ hash: tx.hash, err: err.message }, 'EL refused a mempool transaction');
      });
    }
  }

  function onFailure(state: BuilderState, ctx: ActorContext<BuilderMsg>, err: CodedError | Error): number {
    const code = (err as CodedError).code ?? 'UNKNOWN';
    state.consecutiveFailures++;
    if (modules.monitor && code !== 'LEASE_EXPIRED')
      ctx.send(modules.monitor, { type: 'productionFailed', reason: `${code}: ${err.message}`, engine: ENGINE_FAILURES.has(code) });
    switch (code) {
      case 'STALE_EPOCH':
        ctx.logger.warn({ err }, 'A newer leader committed; stepping down');
        ctx.send(modules.elector, { type: 'stepDown', reason: 'fenced out by a newer epoch', epoch: state.term?.epoch });
        Object.assign(state, endTerm(state, ctx, 'fenced out by a newer epoch'));
        return 0;
      case 'HEIGHT_TAKEN':
      case 'PARENT_MISMATCH':
      case 'EL_WRONG_PARENT':
        ctx.logger.warn({ err }, 'Committed chain moved under us; resuming from the committed head');
        state.head = null;
        break;
      case 'LEASE_EXPIRED':
        // Not a fault: the Elector either renews (production goes on) or reports the loss.
        ctx.logger.warn('Lease deadline reached before commit; waiting for a renewal');
        return BACKOFF.minMs;
      default:
        ctx.logger.error({ err, code }, 'Block production failed');
    }
    report.update({ producer: { state: 'stalled', reason: `${code}: ${err.message}` } });
    return backoffDelay(state.consecutiveFailures, BACKOFF);
  }

  /** The state of a new term (or of none): nothing of a previous term carries over. */
  function freshTerm(term: BuilderState['term']): BuilderState {
    return { term, head: null, fenced: false, resubmitted: false, handedToEl: 0, consecutiveFailures: 0, firstOfTerm: true };
  }

  /** The term `epoch` is over: tell the Publisher, and stop building. */
  function endTerm(state: BuilderState, ctx: ActorContext<BuilderMsg>, reason: string): BuilderState {
    if (state.term) ctx.send(modules.publisher, { type: 'termEnded', epoch: state.term.epoch });
    report.update({ producer: { state: 'following', reason } });
    return freshTerm(null);
  }

  return {
    init(ctx) {
      // A restarted Builder may be in the middle of a term: the Elector says where leadership stands.
      ctx.send(modules.elector, { type: 'tellLeadership', to: ctx.self });
      return freshTerm(null);
    },

    async handle(msg, state, ctx) {
      switch (msg.type) {
        case 'leadershipAcquired':
          if (state.term?.epoch === msg.epoch) return state; // a restart's answer for the term we already build in
          report.update({ producer: { state: 'resuming' } });
          ctx.send(ctx.self, { type: 'tick', epoch: msg.epoch });
          return freshTerm({ epoch: msg.epoch, validUntil: msg.validUntil });
        case 'leaseExtended':
          if (state.term?.epoch === msg.epoch) state.term.validUntil = msg.validUntil;
          return state;
        case 'leadershipLost':
          return state.term?.epoch === msg.epoch ? endTerm(state, ctx, msg.reason) : state;
        case 'notLeading':
          return state.term ? endTerm(state, ctx, 'the Elector restarted and released the lease') : state;
        case 'tick':
          return tick(msg.epoch, state, ctx);
      }
    },
  };

  async function tick(epoch: bigint, state: BuilderState, ctx: ActorContext<BuilderMsg>): Promise<BuilderState> {
    const term = state.term;
    if (!term || term.epoch !== epoch) return state;
    const slotStart = performance.now();
    let retryInMs: number;
    try {
      if (term.validUntil - slotStart < opts.leaseGuardMs) {
        retryInMs = 50; // the renewal is due; building now could outlive the lease
      } else if (!state.head) {
        if (!state.fenced) {
          await store.raiseFence(epoch);
          state.fenced = true;
        }
        state.head = await resumeStep(ctx);
        if (state.head) {
          report.update({ head: { number: state.head.number, hash: state.head.hash } });
          ctx.send(modules.publisher, { type: 'repairStream', epoch });
        }
        retryInMs = 0;
      } else {
        state.head = await buildOne(state, ctx, term);
        state.firstOfTerm = false;
        state.consecutiveFailures = 0;
        report.update({ head: { number: state.head.number, hash: state.head.hash }, producer: { state: 'producing' } });
        retryInMs = Math.max(0, opts.blockTimeMs - (performance.now() - slotStart));
      }
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      retryInMs = onFailure(state, ctx, err as Error);
      if (!state.term) return state;
    }
    ctx.schedule(retryInMs, { type: 'tick', epoch });
    return state;
  }
}
