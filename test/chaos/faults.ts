import { setTimeout as sleep } from 'node:timers/promises';
import type { ChaosCluster, ChaosNode } from './cluster.js';
import type { Random } from './random.js';

/** Every kind of fault the schedule draws from (issues 9, 16); `etcdKill` only with the etcd lease backend. */
export const FAULT_KINDS = [
  'kill',
  'stop',
  'redisRestart',
  'partitionRedis',
  'partitionPostgres',
  'partitionLeader',
  'actorCrash',
  'workerKill',
  'etcdKill',
  'elKill',
  'elHang',
  'elLatency',
  'pgRestart',
  'actorHang',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Every actor kind a node runs; the first three only on leader-capable nodes. */
export const ACTOR_KINDS = ['publisher', 'builder', 'elector', 'executor', 'syncer', 'mempoolWatcher'] as const;
const LEADER_ONLY_ACTORS = new Set(['publisher', 'builder', 'elector']);

/** One injected fault and how the cluster came back from it. */
export interface FaultRecord {
  kind: FaultKind;
  target: string;
  detail: string;
  /** For an actor crash: the actor kind crashed. */
  actor?: string;
  /** ms since the run started. */
  startedAt: number;
  /** When the fault was lifted (healed, restarted, continued, or injected for instant faults). */
  endedAt: number;
  /** When the cluster committed again and the target was healthy, or null if it did not within the limit. */
  recoveredAt: number | null;
  /** Without recovery: what was still missing, with the target's last `/health` problems, so a long run's summary says why. */
  stuck?: string;
  /** A fault that did not do what it should (an actor crash that was not restarted) names itself here. */
  violation?: string;
}

/** How long the cluster may take to recover from one fault before that counts as a violation. */
const RECOVERY_LIMIT_MS = 90_000;
/** The Engine API spec's longest timeout (forkchoiceUpdated, newPayload: 8 s): an `elHang` lasts longer. */
const SPEC_ENGINE_TIMEOUT_MS = 8_000;
/** Faults that take down a service every leader-capable node needs: while one lasts, no node can commit. */
export const SHARED_OUTAGE_KINDS: ReadonlySet<FaultKind> = new Set(['pgRestart']);

/**
 * Draws faults from a seeded generator and injects them one at a time: first every kind once in
 * a seeded order (so even a short run covers them all), then kinds at random. Each fault is lifted
 * after a drawn duration, then the schedule waits for recovery before the next one.
 */
export class FaultSchedule {
  readonly records: FaultRecord[] = [];
  private readonly kinds: FaultKind[];
  private readonly firstRound: FaultKind[];
  private actorRound: string[] = [];

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly random: Random,
    private readonly t0: number,
    private readonly firstCommitAfter: (ms: number) => number | null,
    private readonly log: (line: string) => void,
    /** An interrupt: the schedule stops injecting and stops waiting for recovery. */
    private readonly signal?: AbortSignal,
  ) {
    this.kinds = FAULT_KINDS.filter((k) => k !== 'etcdKill' || cluster.etcd !== null);
    // The first round crashes every actor kind once, besides every other fault kind (`run` finishes it, however long it takes).
    this.firstRound = random.shuffle([...this.kinds.filter((k) => k !== 'actorCrash'), ...ACTOR_KINDS.map((): FaultKind => 'actorCrash')]);
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  /** Crash injections per actor kind so far. */
  get actorCrashes(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of this.records) if (r.actor) counts[r.actor] = (counts[r.actor] ?? 0) + 1;
    return counts;
  }

  /** Inject faults until `untilMs` (since start) and the first round is done; the last one is always lifted and recovered from. */
  async run(untilMs: number): Promise<void> {
    while ((this.now() < untilMs || this.firstRound.length > 0) && !this.signal?.aborted) {
      const kind = this.firstRound.shift() ?? this.random.pick(this.kinds);
      const record = await this.inject(kind);
      this.records.push(record);
      this.log(
        `fault ${this.records.length} ${record.kind} on ${record.target} (${record.detail}) → ${record.recoveredAt === null ? 'NOT RECOVERED' : `recovered in ${Math.round(record.recoveredAt - record.endedAt)} ms`}${record.violation ? ` — VIOLATION: ${record.violation}` : ''}`,
      );
      await sleep(this.random.int(500, 2_500));
    }
  }

  private async inject(kind: FaultKind): Promise<FaultRecord> {
    const startedAt = this.now();
    const leader = await this.cluster.activeLeader();
    const someNode = () => this.random.pick(this.cluster.nodes);
    const leaderOr = (chance: number) => (leader && this.random.next() < chance ? leader : someNode());
    let target: ChaosNode | null = null;
    let detail = '';
    let violation: string | undefined;
    let actor: string | undefined;
    switch (kind) {
      case 'kill': {
        target = leaderOr(0.5);
        const downMs = this.random.int(500, 3_000);
        detail = `SIGKILL, restarted after ${downMs} ms`;
        await target.kill();
        await sleep(downMs);
        await target.start();
        break;
      }
      case 'stop': {
        target = leaderOr(0.7);
        const stoppedMs = this.cluster.opts.leaseTtlMs + this.random.int(500, 3_000);
        detail = `SIGSTOP for ${stoppedMs} ms (lease TTL ${this.cluster.opts.leaseTtlMs} ms)`;
        target.signal('SIGSTOP');
        await sleep(stoppedMs);
        target.signal('SIGCONT');
        break;
      }
      case 'redisRestart': {
        const downMs = this.random.int(500, 3_000);
        detail = `Redis SIGKILL, restarted after ${downMs} ms`;
        await this.cluster.redis.kill();
        await sleep(downMs);
        await this.cluster.redis.restart();
        break;
      }
      case 'partitionRedis':
      case 'partitionPostgres':
      case 'partitionLeader': {
        target = kind === 'partitionLeader' ? (leader ?? this.random.pick(this.cluster.leaders)) : leaderOr(0.6);
        const proxy = kind === 'partitionRedis' ? target.redisProxy : kind === 'partitionPostgres' ? target.pgProxy : target.apiProxy;
        const cutMs = this.random.int(1_000, 6_000);
        const mode = this.random.next() < 0.5 ? 'blackhole' : 'refuse';
        detail = `${kind === 'partitionLeader' ? 'members and standbys ↔ its API' : kind === 'partitionRedis' ? '↔ Redis' : '↔ PostgreSQL'} cut (${mode}) for ${cutMs} ms`;
        proxy.cut(mode);
        await sleep(cutMs);
        proxy.heal();
        break;
      }
      case 'actorCrash': {
        if (this.actorRound.length === 0) this.actorRound = this.random.shuffle([...ACTOR_KINDS]);
        const crashed = this.actorRound.shift()!;
        actor = crashed;
        target = this.random.pick(this.cluster.nodes.filter((n) => n.running && (n.role === 'leader' || !LEADER_ONLY_ACTORS.has(crashed))));
        detail = `${crashed} throw`;
        violation = await this.crashActor(target, crashed, 'throw');
        break;
      }
      case 'actorHang': {
        // The actors that hold production while hung: the leader's Builder or Publisher (restarted at their per-actor deadline).
        target = leader ?? this.random.pick(this.cluster.leaders.filter((n) => n.running));
        actor = this.random.pick(['builder', 'publisher']);
        detail = `${actor} hang`;
        violation = await this.crashActor(target, actor, 'hang');
        break;
      }
      case 'elKill': {
        target = leaderOr(0.5);
        const downMs = this.random.int(1_000, 5_000);
        detail = `its EL SIGKILLed, restarted after ${downMs} ms`;
        await target.el.kill();
        await sleep(downMs);
        await target.el.restart();
        break;
      }
      case 'elHang': {
        target = leaderOr(0.6);
        const hungMs = SPEC_ENGINE_TIMEOUT_MS + this.random.int(1_000, 4_000);
        detail = `its EL SIGSTOPped for ${hungMs} ms (the Engine API's longest timeout is ${SPEC_ENGINE_TIMEOUT_MS} ms)`;
        target.el.signal('SIGSTOP');
        await sleep(hungMs);
        target.el.signal('SIGCONT');
        break;
      }
      case 'elLatency': {
        target = leaderOr(0.6);
        const maxDelayMs = this.random.int(100, 1_500);
        const forMs = this.random.int(5_000, 15_000);
        detail = `its Engine API delayed by 0–${maxDelayMs} ms per chunk (drawn each) for ${forMs} ms`;
        const delays = this.random.fork();
        target.el.engineProxy.setDelay(() => delays.int(0, maxDelayMs));
        await sleep(forMs);
        target.el.engineProxy.setDelay(null);
        break;
      }
      case 'pgRestart': {
        const downMs = this.random.int(500, 4_000);
        detail = `PostgreSQL stopped (pg_ctl stop -m fast), started again after ${downMs} ms`;
        await this.cluster.postgres.stop();
        await sleep(downMs);
        await this.cluster.postgres.restart();
        break;
      }
      case 'workerKill': {
        target = this.random.pick(this.cluster.nodes.filter((n) => n.running));
        detail = 'a pool worker dies mid-task';
        violation = await this.killWorker(target);
        break;
      }
      case 'etcdKill': {
        const etcd = this.cluster.etcd!;
        const raftLeader = await etcd.leader().catch(() => 0);
        const member = this.random.next() < 0.5 ? raftLeader : this.random.int(0, 2);
        const downMs = this.random.int(1_000, 5_000);
        detail = `etcd member ${member}${member === raftLeader ? ' (Raft leader)' : ''} SIGKILL, restarted after ${downMs} ms`;
        await etcd.kill(member);
        await sleep(downMs);
        await etcd.restart(member);
        break;
      }
    }
    const endedAt = this.now();
    const { recoveredAt, stuck } = await this.waitForRecovery(endedAt, target);
    return {
      kind,
      target: target?.name ?? (kind === 'redisRestart' ? 'redis' : kind === 'pgRestart' ? 'postgres' : 'etcd'),
      detail,
      ...(actor ? { actor } : {}),
      startedAt,
      endedAt,
      recoveredAt,
      ...(stuck ? { stuck } : {}),
      ...(violation ? { violation } : {}),
    };
  }

  /**
   * Recovered: a block was committed after the fault ended and the faulted node (if any) answers
   * healthy. Otherwise `stuck` says which of the two was missing at the limit, and what the
   * target's `/health` last reported.
   */
  private async waitForRecovery(endedAt: number, target: ChaosNode | null): Promise<{ recoveredAt: number | null; stuck?: string }> {
    const deadline = endedAt + RECOVERY_LIMIT_MS;
    let committedAt: number | null = null;
    let healthyAt: number | null = target ? null : endedAt;
    let lastHealth: Awaited<ReturnType<ChaosNode['health']>> = null;
    while (this.now() < deadline && !this.signal?.aborted) {
      committedAt ??= this.firstCommitAfter(endedAt);
      if (healthyAt === null) {
        lastHealth = await target!.health();
        if (lastHealth?.status === 200) healthyAt = this.now();
      }
      if (committedAt !== null && healthyAt !== null) return { recoveredAt: Math.max(committedAt, healthyAt) };
      await sleep(100);
    }
    const missing = [
      ...(committedAt === null ? ['no block committed after the fault ended'] : []),
      ...(healthyAt === null
        ? [
            lastHealth
              ? `${target!.name}'s /health stayed ${lastHealth.status}: problems ${JSON.stringify(lastHealth.body.problems ?? {})}, producer ${JSON.stringify(lastHealth.body.producer ?? null)}`
              : `${target!.name}'s /health did not answer`,
          ]
        : []),
    ];
    return { recoveredAt: null, stuck: missing.join('; ') };
  }

  /** Inject through `baton_chaos` and wait for the actor's restart count to rise: the Supervisor restarted it. */
  private async crashActor(node: ChaosNode, actor: string, fault: 'throw' | 'hang'): Promise<string | undefined> {
    const incarnation = node.incarnation;
    const before = (await node.health())?.body.actors?.[actor]?.restarts;
    if (before === undefined) return undefined; // the node is not answering: nothing was injected
    const answer = await node.rpc('baton_chaos', { fault, actor }).catch((err: Error) => ({ error: { message: err.message } }));
    if (answer.error) return `baton_chaos ${actor} ${fault} on ${node.name} failed: ${answer.error.message}`;
    // A hang is a crash only once the actor's handler deadline passes.
    const deadline = performance.now() + (fault === 'hang' ? 60_000 : 20_000);
    while (performance.now() < deadline) {
      if (node.incarnation !== incarnation) return undefined; // the whole node restarted meanwhile
      const restarts = (await node.health())?.body.actors?.[actor]?.restarts;
      if (restarts !== undefined && restarts > before) return undefined;
      await sleep(100);
    }
    return `${actor} on ${node.name} was crashed (${fault}) but its restart count stayed at ${before}`;
  }

  /** Arm a worker kill and wait until it fired (`/health` chaos.injected): the pool must keep serving after it. */
  private async killWorker(node: ChaosNode): Promise<string | undefined> {
    const incarnation = node.incarnation;
    const fired = async () => (await node.health())?.body.chaos?.injected?.['pool:killWorker'] ?? 0;
    const before = await fired();
    const answer = await node.rpc('baton_chaos', { fault: 'killWorker' }).catch((err: Error) => ({ error: { message: err.message } }));
    if (answer.error) return `baton_chaos killWorker on ${node.name} failed: ${answer.error.message}`;
    const deadline = performance.now() + 30_000;
    while (performance.now() < deadline) {
      if (node.incarnation !== incarnation) return undefined;
      if ((await fired()) > before) return undefined;
      await sleep(100);
    }
    return `the worker kill armed on ${node.name} never fired: its pool ran no task for 30 s`;
  }
}
