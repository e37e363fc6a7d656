import type { EngineApi } from '../adapters/engine/interface.js';
import type { LeaseBackend } from '../adapters/lease/interface.js';
import type { Mempool } from '../adapters/mempool/interface.js';
import type { Actor, ActorContext, ActorRef } from '../runtime/actor.js';
import type { LeaderInfo } from '../types/leader.js';
import type { StatusReport } from '../types/report.js';
import type { ElectorMsg, HealthMonitorMsg, SyncerMsg } from './messages.js';

export interface HealthMonitorOptions {
  /** Probe period; each probe is bounded by it too, so a hung dependency never stacks probes. */
  intervalMs: number;
  /** The lease backend's own cluster (etcd members) is asked every this many probes: each round asks every member. */
  clusterEveryProbes: number;
}

export interface HealthMonitorModules {
  backend: LeaseBackend;
  engine: EngineApi;
  report: StatusReport;
  /** The shared mempool (with Redis): its sizes are reported. */
  mempool?: Pick<Mempool, 'sizes'>;
  /** The lease backend's members and their health, where it has a cluster (etcd). */
  leaseCluster?: (signal: AbortSignal) => Promise<object[]>;
  /** Told whether the EL answers (a node whose EL does not answer does not campaign). Leader-capable nodes only. */
  elector?: ActorRef<ElectorMsg>;
  /** Told who leads and where its API is, so it follows leadership changes by itself. */
  syncer: ActorRef<SyncerMsg>;
}

interface MonitorState {
  probes: number;
}

/**
 * The HealthMonitor: the node's eyes on its dependencies. Once per interval it asks the lease
 * backend who leads and the EL for its head (and the mempool for its sizes); it writes what it
 * sees to the node's report (`/health`) and tells the actors that act on it: the Syncer who
 * leads, the Elector whether the EL answers. It decides nothing itself.
 */
export function healthMonitorActor(opts: HealthMonitorOptions, modules: HealthMonitorModules): Actor<HealthMonitorMsg, MonitorState> {
  const { backend, engine, report } = modules;

  async function probe(state: MonitorState, ctx: ActorContext<HealthMonitorMsg>): Promise<void> {
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(opts.intervalMs)]);
    const [holder, elHead, sizes, cluster] = await Promise.allSettled([
      backend.current(signal),
      engine.getBlockByNumber('latest', { signal }),
      modules.mempool?.sizes() ?? Promise.resolve(null),
      modules.leaseCluster && state.probes % opts.clusterEveryProbes === 0 ? modules.leaseCluster(signal) : Promise.resolve(undefined),
    ]);
    if (holder.status === 'fulfilled') {
      const leader: LeaderInfo | null = holder.value && { holder: holder.value.holder, epoch: holder.value.epoch, apiUrl: holder.value.meta?.apiUrl ?? null };
      report.update({ holder: leader?.holder ?? null, holderEpoch: leader?.epoch ?? null, leaderApiUrl: leader?.apiUrl ?? null });
      report.problem('lease', null);
      ctx.send(modules.syncer, { type: 'leader', leader });
    } else report.problem('lease', `lease backend unreachable: ${(holder.reason as Error).message}`);
    const elProblem = elHead.status === 'fulfilled' ? null : `execution client unreachable: ${(elHead.reason as Error).message}`;
    report.problem('el', elProblem);
    if (elHead.status === 'fulfilled') report.update({ elHead: elHead.value ? { number: elHead.value.number, hash: elHead.value.hash } : null });
    if (modules.elector) ctx.send(modules.elector, { type: 'elHealth', problem: elProblem });
    if (sizes.status === 'fulfilled' && sizes.value) report.update({ mempool: sizes.value });
    else if (sizes.status === 'rejected') ctx.logger.debug({ err: sizes.reason }, 'Mempool size probe failed');
    if (cluster.status === 'fulfilled' && cluster.value) report.update({ leaseCluster: cluster.value });
    else if (cluster.status === 'rejected') report.update({ leaseCluster: null });
  }

  return {
    init(ctx) {
      ctx.send(ctx.self, { type: 'probe' });
      return { probes: 0 };
    },
    async handle(msg, state, ctx) {
      switch (msg.type) {
        case 'probe': {
          const started = performance.now();
          await probe(state, ctx);
          state.probes++;
          ctx.schedule(Math.max(0, opts.intervalMs - (performance.now() - started)), { type: 'probe' });
          return state;
        }
      }
    },
  };
}
