import type { EngineApi } from '../adapters/engine/interface.js';
import type { IBlockStore } from '../adapters/postgres/interface.js';
import type { Actor, ActorContext, ActorRef } from '../runtime/actor.js';
import { decode } from '../runtime/codec.js';
import { CodedError } from '../runtime/errors.js';
import type { BlockEnvelope, SyncBlock } from '../types/block.js';
import type { Data } from '../types/engine.js';
import type { StatusReport } from '../types/report.js';
import type { BlockSink } from '../types/sink.js';
import { BlockLog } from './blockLog.js';
import type { ExecutorMsg, MempoolWatcherMsg } from './messages.js';
import { notifyCommitted } from './notify.js';

/** Where the Executor stands: the last block its EL (and, on a member, its store) has. */
export interface SyncPosition {
  lastSynced: bigint;
  lastHash: Data;
}

/** Why a block was not executed; the Syncer decides what to do by the code. */
export const ExecutorErrorCode = {
  /** Not the next block (`meta.expected`): the Syncer re-reads its position. */
  OUT_OF_ORDER: 'SYNC_OUT_OF_ORDER',
  /** The EL is not ready (SYNCING/ACCEPTED, unreachable): retry the same block later. */
  RETRY: 'SYNC_RETRY',
  /** The EL's head is not on the committed chain (an uncommitted block of a former leader): stepped back one block; resume from `meta`. */
  REWOUND: 'SYNC_REWOUND',
  /** The block failed verification or the EL called it INVALID: syncing stops, `/health` says why. */
  HALTED: 'SYNC_HALTED',
} as const;

export interface ExecutorOptions {
  /**
   * Store executed blocks in this node's own PostgreSQL (a member). A standby leader shares the
   * leader's database, where the block already is, so it only executes.
   */
  storeBlocks: boolean;
  /** Committer name recorded for blocks whose source did not say (the feed). */
  unknownLeader: string;
}

export interface ExecutorModules {
  engine: EngineApi;
  store: IBlockStore;
  report: StatusReport;
  /** This node's MempoolWatcher (with Redis): told of each block executed here. */
  watcher?: ActorRef<MempoolWatcherMsg>;
  /** Where executed blocks go live (this node's feed): after the store on a member; committed blocks only, as they came from the leader. */
  sinks: BlockSink[];
}

interface ExecutorState {
  position: SyncPosition;
  blockLog: BlockLog;
  /** Highest block in this node's own store (members), so re-executed blocks are not stored twice. */
  storedHead: bigint;
  halted: string | null;
}

/**
 * The Executor (DESIGN §2.5): verifies each block on the pool — block hash recomputed from the
 * payload, parent link, number contiguity — before its EL sees it; then `engine_newPayloadV4`,
 * and only on VALID `forkchoiceUpdatedV3` and the store. SYNCING/ACCEPTED never advance the
 * position; INVALID or a hash mismatch halts syncing with the reason on `/health`, storing nothing.
 */
export function executorActor(opts: ExecutorOptions, modules: ExecutorModules): Actor<ExecutorMsg, ExecutorState> {
  const { engine, store, report } = modules;

  /**
   * Resume point: the EL head, lowered to the store head on a member whose EL is ahead of its
   * store (or raised past nothing: an EL behind its store re-executes, and storing is skipped up
   * to `storedHead`). Re-verified: the EL's block there must be the stored one, else step back.
   */
  async function resume(ctx: ActorContext<ExecutorMsg>): Promise<{ position: SyncPosition; storedHead: bigint }> {
    const elHead = await engine.getBlockByNumber('latest', { signal: ctx.signal });
    if (!elHead) throw new CodedError('EL_NO_HEAD', 'the EL returned no latest block');
    if (!opts.storeBlocks) return { position: { lastSynced: elHead.number, lastHash: elHead.hash.toLowerCase() }, storedHead: -1n };
    const storeHead = await store.head();
    let n = storeHead && storeHead.number < elHead.number ? storeHead.number : elHead.number;
    for (; n > 0n; n--) {
      const [el, stored] = await Promise.all([engine.getBlockByNumber(n, { signal: ctx.signal }), store.getByNumber(n)]);
      if (el && (!stored || stored.hash === el.hash.toLowerCase()))
        return { position: { lastSynced: n, lastHash: el.hash.toLowerCase() }, storedHead: storeHead?.number ?? -1n };
      ctx.logger.warn({ number: n, el: el?.hash, stored: stored?.hash }, 'EL and store disagree; stepping back');
    }
    const genesis = await engine.getBlockByNumber(0, { signal: ctx.signal });
    if (!genesis) throw new CodedError('EL_NO_HEAD', 'the EL returned no genesis block');
    return { position: { lastSynced: 0n, lastHash: genesis.hash.toLowerCase() }, storedHead: storeHead?.number ?? -1n };
  }

  function halt(state: ExecutorState, ctx: ActorContext<ExecutorMsg>, reason: string, meta: Record<string, unknown>): never {
    state.halted = reason;
    report.problem('sync', `syncing halted: ${reason}`);
    ctx.logger.error(meta, `Syncing halted: ${reason}`);
    throw new CodedError(ExecutorErrorCode.HALTED, reason, meta);
  }

  async function execute(block: SyncBlock, state: ExecutorState, ctx: ActorContext<ExecutorMsg>): Promise<SyncPosition> {
    if (state.halted) throw new CodedError(ExecutorErrorCode.HALTED, state.halted);
    const { position } = state;
    const started = performance.now();
    const expected = position.lastSynced + 1n;
    if (block.number !== expected)
      throw new CodedError(ExecutorErrorCode.OUT_OF_ORDER, `expected block ${expected}, got ${block.number}`, { expected: expected.toString() });
    const meta = { number: block.number.toString(), hash: block.hash };

    const verdict = await ctx.pool.run('verifyPayload', { payloadData: block.payloadData, requestsData: block.requestsData }).catch((err: Error) => {
      // A worker that died says nothing about the block: that is a crash (restart, retry), not a verdict.
      if ((err as CodedError).code === 'WORKER_DIED') throw err;
      return halt(state, ctx, `block ${block.number} is unreadable: ${err.message}`, meta);
    });
    if (!verdict.valid) halt(state, ctx, `block ${block.number} failed verification: ${verdict.reason}`, { ...meta, computed: verdict.computedHash });
    if (verdict.claimedHash !== block.hash.toLowerCase() || verdict.number !== block.number || verdict.parentHash !== block.parentHash.toLowerCase()) {
      halt(
        state,
        ctx,
        `block ${block.number}: the payload (${verdict.number} ${verdict.claimedHash}) is not the block announced (${block.number} ${block.hash})`,
        meta,
      );
    }

    if (block.parentHash.toLowerCase() !== position.lastHash) {
      if (opts.storeBlocks && position.lastSynced <= state.storedHead) {
        halt(
          state,
          ctx,
          `the leader's block ${block.number} does not extend our stored block ${position.lastSynced} (${position.lastHash}): the chains forked`,
          meta,
        );
      }
      // Our EL's head is a block nobody committed (this node led once and died mid-block): step back.
      const previous = await engine.getBlockByNumber(position.lastSynced - 1n, { signal: ctx.signal });
      if (!previous) throw new CodedError(ExecutorErrorCode.RETRY, `the EL has no block ${position.lastSynced - 1n}`);
      state.position = { lastSynced: previous.number, lastHash: previous.hash.toLowerCase() };
      ctx.logger.warn({ ...meta, steppedBackTo: previous.number.toString() }, 'EL head is not on the committed chain; stepping back');
      throw new CodedError(ExecutorErrorCode.REWOUND, `stepped back to ${previous.number}`, { lastSynced: previous.number.toString() });
    }

    const envelope = decode<BlockEnvelope>(block.payloadData);
    const requests = decode<Data[]>(block.requestsData);
    const result = await engine
      .newPayloadV4(envelope.executionPayload, envelope.versionedHashes, envelope.parentBeaconBlockRoot, requests, { signal: ctx.signal })
      .catch((err: Error) => {
        throw new CodedError(ExecutorErrorCode.RETRY, `newPayload failed: ${err.message}`, meta);
      });
    if (result.status === 'INVALID' || result.status === 'INVALID_BLOCK_HASH') {
      halt(state, ctx, `the EL called block ${block.number} ${result.status}: ${result.validationError ?? ''}`, meta);
    }
    if (result.status !== 'VALID') throw new CodedError(ExecutorErrorCode.RETRY, `the EL answered ${result.status} for block ${block.number}`, meta);
    const fcu = await engine
      .forkchoiceUpdatedV3({ headBlockHash: block.hash, safeBlockHash: block.hash, finalizedBlockHash: block.hash }, null, { signal: ctx.signal })
      .catch((err: Error) => {
        throw new CodedError(ExecutorErrorCode.RETRY, `forkchoiceUpdated failed: ${err.message}`, meta);
      });
    if (fcu.payloadStatus.status !== 'VALID')
      throw new CodedError(ExecutorErrorCode.RETRY, `forkchoiceUpdated on ${block.number} answered ${fcu.payloadStatus.status}`, meta);

    if (opts.storeBlocks && block.number > state.storedHead) {
      await store.commitBlock(block, block.epoch, block.leader ?? opts.unknownLeader).catch((err: CodedError) => {
        if (err.code === 'HEIGHT_TAKEN' || err.code === 'PARENT_MISMATCH') halt(state, ctx, `our store refused block ${block.number}: ${err.message}`, meta);
        // The EL already has the block; the retry re-executes it (idempotent) and stores it then.
        throw new CodedError(ExecutorErrorCode.RETRY, `storing block ${block.number} failed: ${err.message}`, meta);
      });
      state.storedHead = block.number;
      report.update({ head: { number: block.number, hash: block.hash } });
    }
    // A committed block (it came from the leader's feed or store), now executed here: this node's feed serves it live.
    const encoded = {
      summary: { number: block.number, hash: block.hash, parentHash: block.parentHash, timestamp: block.timestamp, txCount: block.txCount },
      payloadData: block.payloadData,
      requestsData: block.requestsData,
    };
    for (const sink of modules.sinks)
      await sink.publish(encoded, block.epoch).catch((err: Error) => ctx.logger.warn({ err, sink: sink.name }, 'Publishing a synced block failed'));
    state.position = { lastSynced: block.number, lastHash: block.hash.toLowerCase() };
    state.blockLog.block({ number: block.number, hash: block.hash, txs: block.txCount, timings: { executeMs: performance.now() - started } });
    // Counted in the report, not in state: the total survives a restart of this actor.
    report.updateSync({ lastSynced: block.number, lastBlockTimestamp: block.timestamp });
    report.countSynced();
    notifyCommitted(ctx, modules.watcher, block.number);
    return state.position;
  }

  return {
    // No EL call here: an EL that is slow or down must not make init crash and restart in a loop
    // (past the restart intensity that would stop the node). The Syncer asks for the position first.
    init: (ctx) => ({
      position: { lastSynced: -1n, lastHash: '0x' },
      storedHead: -1n,
      halted: null,
      blockLog: new BlockLog(ctx.logger, opts.storeBlocks ? 'Block synced' : 'Block executed'),
    }),
    async handle(msg, state, ctx) {
      switch (msg.type) {
        case 'position': {
          // Recomputed, not remembered: on a standby the Builder may have moved the EL since.
          let resumed: Awaited<ReturnType<typeof resume>>;
          try {
            resumed = await resume(ctx);
          } catch (err) {
            if (ctx.signal.aborted) throw err;
            ctx.replyError(new CodedError(ExecutorErrorCode.RETRY, `cannot read the resume point: ${(err as Error).message}`));
            return state;
          }
          Object.assign(state, resumed);
          if (!state.halted) report.problem('sync', null);
          report.updateSync({ lastSynced: resumed.position.lastSynced });
          ctx.logger.info({ lastSynced: resumed.position.lastSynced, storedHead: resumed.storedHead }, 'Executor resumes');
          ctx.reply(state.position);
          return state;
        }
        case 'execute':
          try {
            ctx.reply(await execute(msg.block, state, ctx));
          } catch (err) {
            // A dead pool worker is a crash (DESIGN §1): the Supervisor restarts us and retries the block.
            if (ctx.signal.aborted || !(err instanceof CodedError) || err.code === 'WORKER_DIED') throw err;
            ctx.replyError(err); // a refused block is an answer to the Syncer, not a crash
          }
          return state;
      }
    },
  };
}
