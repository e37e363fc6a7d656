import type { EngineApi } from '../adapters/engine/interface.js';
import type { LeaseBackend } from '../adapters/lease/interface.js';
import type { Mempool } from '../adapters/mempool/interface.js';
import type { IBlockStore } from '../adapters/postgres/interface.js';
import { untilAborted } from '../runtime/abort.js';
import type { Actor, ActorContext, ActorRef } from '../runtime/actor.js';
import type { NodeHealthRecord } from '../types/health.js';
import type { LeaderInfo } from '../types/leader.js';
import type { StatusReport } from '../types/report.js';
import { failoverReason, type HealthThresholds, handOverTarget, judge, mayCampaign, type Observations, readiness, type Verdict } from './healthVerdict.js';
import type { ElectorMsg, HealthMonitorMsg, SyncerMsg } from './messages.js';

export interface HealthMonitorOptions {
  identity: string;
  /** A leader-capable node judges itself, publishes its health record and may hand over; a member only reports. */
  leaderCapable: boolean;
  /** Probe period; each probe is bounded by it too, so a hung dependency never stacks probes. */
  intervalMs: number;
  /** A health record lives this long: a node that stops publishing is no longer a standby to hand over to. */
  recordTtlMs: number;
  /** The lease backend's own cluster (etcd members) is asked every this many probes: each round asks every member. */
  clusterEveryProbes: number;
  thresholds: HealthThresholds;
  /**
   * Start paused: the operator's pause is the node's, not this incarnation's, so the wiring hands a
   * restarted monitor the pause last set (the Elector tells only of changes).
   */
  startPaused: boolean;
}

export interface HealthMonitorModules {
  backend: LeaseBackend;
  engine: EngineApi;
  store: Pick<IBlockStore, 'head'>;
  report: StatusReport;
  /** The shared mempool (with Redis): its sizes are reported. */
  mempool?: Pick<Mempool, 'sizes'>;
  /** The lease backend's members and their health, where it has a cluster (etcd). */
  leaseCluster?: (signal: AbortSignal) => Promise<object[]>;
  /** Told each probe whether this node may campaign, and asked to step down when an unhealthy leader can hand over. Leader-capable nodes only. */
  elector?: ActorRef<ElectorMsg>;
  /** Told who leads and where its API is, so it follows leadership changes by itself. */
  syncer: ActorRef<SyncerMsg>;
  /** Counted per step-down for health, by reason (`baton_failovers_total`). */
  onStepDown?: (reason: ReturnType<typeof failoverReason>) => void;
}

interface MonitorState extends Observations {
  probes: number;
  holder: LeaderInfo | null;
  /** The other nodes' fresh health records, as last read. */
  others: NodeHealthRecord[];
  /** The epoch this node last asked to step down from, so one term is handed over once. */
  steppingDownFrom: bigint | null;
  stepDowns: { at: string; reason: string; to: string }[];
}

/** Step-downs `/health` remembers. */
const STEP_DOWN_HISTORY = 10;

/**
 * How long the EL may take to name its head: half the probe interval, at most 500 ms. The EL runs
 * beside the node (loopback): one that cannot answer this cheapest call in half a second is hung or
 * drowning, and `--health-el-failures` such answers in a row make it unreachable.
 */
function elProbeTimeoutMs(intervalMs: number): number {
  return Math.max(100, Math.min(500, Math.floor(intervalMs / 2)));
}

/**
 * The HealthMonitor (DESIGN §2): the node's judgement of itself, and the only actor that asks a
 * healthy leader to step down. Once per interval it probes the lease backend (who leads), the EL
 * (its head) and the database (the committed head); the Builder and Publisher tell it how
 * production goes. From that it judges the node healthy or not (`healthVerdict.ts`), writes the
 * verdict to `/health`, publishes a health record through the lease backend and reads the others',
 * tells the Syncer who leads and the Elector whether it may campaign — and, on an unhealthy leader
 * past its minimum term, asks the Elector to step down, but only when another node is ready.
 * With no ready standby the leader stays and keeps retrying, and `/health` says why.
 */
export function healthMonitorActor(opts: HealthMonitorOptions, modules: HealthMonitorModules): Actor<HealthMonitorMsg, MonitorState> {
  const { backend, engine, report } = modules;
  const t = opts.thresholds;

  function elFailed(state: MonitorState, problem: string): void {
    state.elFailures++;
    state.elProblem = problem;
  }

  async function probe(state: MonitorState, ctx: ActorContext<HealthMonitorMsg>): Promise<void> {
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(opts.intervalMs)]);
    const elSignal = AbortSignal.any([ctx.signal, AbortSignal.timeout(elProbeTimeoutMs(opts.intervalMs))]);
    const [holder, elHead, committed, sizes, cluster, records] = await Promise.allSettled([
      backend.current(signal),
      engine.getBlockByNumber('latest', { signal: elSignal }),
      modules.store.head(signal),
      modules.mempool ? untilAborted(modules.mempool.sizes(), signal) : Promise.resolve(null),
      modules.leaseCluster && state.probes % opts.clusterEveryProbes === 0 ? modules.leaseCluster(signal) : Promise.resolve(undefined),
      opts.leaderCapable && backend.healthRecords ? backend.healthRecords(signal) : Promise.resolve([]),
    ]);
    if (holder.status === 'fulfilled') {
      state.holder = holder.value && { holder: holder.value.holder, epoch: holder.value.epoch, apiUrl: holder.value.meta?.apiUrl ?? null };
      report.update({ holder: state.holder?.holder ?? null, holderEpoch: state.holder?.epoch ?? null, leaderApiUrl: state.holder?.apiUrl ?? null });
      report.problem('lease', null);
      ctx.send(modules.syncer, { type: 'leader', leader: state.holder });
    } else report.problem('lease', `lease backend unreachable: ${(holder.reason as Error).message}`);
    if (elHead.status === 'fulfilled') {
      state.elFailures = 0;
      state.elHead = elHead.value?.number ?? null;
      report.update({ elHead: elHead.value ? { number: elHead.value.number, hash: elHead.value.hash } : null });
    } else elFailed(state, (elHead.reason as Error).message);
    report.problem('el', elHead.status === 'rejected' ? `execution client unreachable: ${(elHead.reason as Error).message}` : null);
    state.storeProblem = committed.status === 'rejected' ? (committed.reason as Error).message : null;
    if (committed.status === 'fulfilled') state.committedHead = committed.value?.number ?? null;
    if (records.status === 'fulfilled') state.others = records.value.filter((r) => r.id !== opts.identity);
    if (sizes.status === 'fulfilled' && sizes.value) report.update({ mempool: sizes.value });
    if (cluster.status === 'fulfilled' && cluster.value) report.update({ leaseCluster: cluster.value });
    else if (cluster.status === 'rejected') report.update({ leaseCluster: null });
  }

  /** After each probe: the verdict, the record, the campaign gate and, on a sick leader, the hand-over. */
  async function act(state: MonitorState, ctx: ActorContext<HealthMonitorMsg>): Promise<void> {
    const now = performance.now();
    const verdict = judge(state, now, t);
    const ready = readiness(state, verdict, now);
    let staying: string | null = null;
    if (opts.leaderCapable) {
      await publish(state, verdict, ready, ctx);
      const gate = mayCampaign(state, ready, t, state.others, state.holder !== null);
      if (modules.elector) ctx.send(modules.elector, { type: 'campaignGate', may: gate.may, reason: gate.reason });
      if (state.term && !verdict.healthy) staying = handOver(state, verdict, now, ctx);
    }
    report.update({
      health: {
        verdict: verdict.healthy ? 'healthy' : 'unhealthy',
        reasons: verdict.reasons,
        ready: opts.leaderCapable && ready.healthy && !state.term, // a leader is not a standby to take over
        notReadyBecause: ready.reasons,
        standbys: state.others.map((r) => ({ id: r.id, ready: r.ready, reasons: r.reasons, elHead: r.elHead })),
        staying,
        stepDowns: state.stepDowns,
      },
    });
  }

  async function publish(state: MonitorState, verdict: Verdict, ready: Verdict, ctx: ActorContext<HealthMonitorMsg>): Promise<void> {
    if (!backend.publishHealth) return;
    const record: NodeHealthRecord = {
      id: opts.identity,
      ready: ready.healthy && !state.term, // a leader is not a standby to hand over to
      healthy: verdict.healthy,
      reasons: ready.reasons,
      elHead: state.elHead?.toString() ?? null,
      committedHead: state.committedHead?.toString() ?? null,
      paused: state.paused,
      at: Date.now(),
    };
    try {
      // Half a period: with the probe's full period before it, one handler stays well inside the
      // monitor's deadline (two periods and a second) even when the event loop lags on a busy box.
      // A record lives three periods, so one slow publish does not make it lapse.
      await backend.publishHealth(record, opts.recordTtlMs, AbortSignal.any([ctx.signal, AbortSignal.timeout(Math.ceil(opts.intervalMs / 2))]));
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      ctx.logger.debug({ err }, 'Publishing the health record failed; others will see it lapse');
    }
  }

  /** An unhealthy leader: hand over to a ready standby past the minimum term, else say why it stays. */
  function handOver(state: MonitorState, verdict: Verdict, now: number, ctx: ActorContext<HealthMonitorMsg>): string | null {
    const term = state.term!;
    if (state.steppingDownFrom === term.epoch) return 'stepping down';
    if (now - term.since < t.minTermMs) return `unhealthy, but within its minimum term (${t.minTermMs} ms): stays leader for now`;
    const target = handOverTarget(opts.identity, state.others);
    if (!target || !modules.elector) return 'unhealthy, but no ready standby to hand over to: stays leader and keeps retrying';
    const reason = `unhealthy: ${verdict.reasons.join('; ')}`;
    state.steppingDownFrom = term.epoch;
    state.heldOffUntil = now + t.holdOffMs;
    state.stepDowns = [{ at: new Date().toISOString(), reason, to: target.id }, ...state.stepDowns].slice(0, STEP_DOWN_HISTORY);
    modules.onStepDown?.(failoverReason(verdict));
    ctx.logger.warn({ reasons: verdict.reasons, readyStandby: target.id, epoch: term.epoch }, 'Leader unhealthy; stepping down for a ready standby');
    ctx.send(modules.elector, { type: 'stepDown', reason, holdOffMs: t.holdOffMs });
    return 'stepping down';
  }

  return {
    init(ctx) {
      ctx.send(ctx.self, { type: 'probe', loop: ctx.incarnation });
      // A restarted monitor must learn the term this node holds now: without it, it would judge a
      // sick leader as a standby and never hand over (a chaos run saw a leader with a hung EL keep
      // the lease for 70 s after its monitor was restarted).
      if (modules.elector) ctx.send(modules.elector, { type: 'tellLeadership', to: ctx.self });
      return {
        probes: 0,
        elFailures: 0,
        elProblem: null,
        productionFailures: 0,
        productionProblem: null,
        storeProblem: null,
        elHead: null,
        committedHead: null,
        paused: opts.startPaused,
        heldOffUntil: 0,
        term: null,
        holder: null,
        others: [],
        steppingDownFrom: null,
        stepDowns: [],
      };
    },
    async handle(msg, state, ctx) {
      switch (msg.type) {
        case 'probe': {
          if (msg.loop !== ctx.incarnation) return state; // the last incarnation's, handed over by its crash
          const started = performance.now();
          await probe(state, ctx);
          await act(state, ctx);
          state.probes++;
          // After a failed EL probe, look again at once: a hung EL is judged in two short probes, not two intervals.
          const nextInMs = state.elFailures > 0 ? 0 : Math.max(0, opts.intervalMs - (performance.now() - started));
          ctx.schedule(nextInMs, { type: 'probe', loop: ctx.incarnation });
          return state;
        }
        case 'leadershipAcquired':
          if (state.term?.epoch !== msg.epoch) state.term = { epoch: msg.epoch, since: performance.now(), lastCommitAt: 0 };
          state.productionFailures = 0;
          return state;
        case 'leaseExtended':
          return state;
        case 'leadershipLost':
        case 'notLeading':
          state.term = null;
          state.productionFailures = 0;
          return state;
        case 'committed':
          if (state.term) state.term.lastCommitAt = performance.now();
          state.productionFailures = 0;
          if (state.committedHead === null || msg.number > state.committedHead) state.committedHead = msg.number;
          return state;
        case 'productionFailed':
          state.productionFailures++;
          state.productionProblem = msg.reason;
          if (msg.engine) elFailed(state, msg.reason);
          return state;
        case 'paused':
          state.paused = msg.paused;
          return state;
      }
    },
  };
}
