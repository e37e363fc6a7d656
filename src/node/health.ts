import type { HealthReport } from '../adapters/http/index.js';
import type { SyncStatus } from '../types/report.js';
import type { StatusBoard } from './status.js';

/** The `/health` body (DESIGN §6): role, leadership, head, producer state, actor restarts and every current problem. */
export function healthReport(
  status: StatusBoard,
  restartCounts: Record<string, number>,
  executionClient: object,
  chaosInjected: Record<string, number> | null = null,
): HealthReport {
  const s = status.current;
  return {
    healthy: status.healthy(),
    body: {
      status: status.healthy() ? 'ok' : 'unhealthy',
      role: s.role,
      instanceId: s.instanceId,
      isLeader: s.isLeader,
      holder: s.holder,
      leaderApiUrl: s.leaderApiUrl,
      epoch: s.isLeader ? s.epoch : null,
      leaseBackend: s.leaseBackend,
      head: s.head,
      producer: s.producer,
      paused: s.paused,
      notCampaigning: s.notCampaigning,
      elHead: s.elHead,
      sync: s.sync && syncReport(s.sync),
      election: {
        backend: s.leaseBackend,
        holder: s.holder,
        epoch: s.holderEpoch,
        isLeader: s.isLeader,
        ...(s.leaseCluster ? { cluster: s.leaseCluster } : {}),
      },
      executionClient,
      actors: Object.fromEntries(Object.entries(restartCounts).map(([id, restarts]) => [id, { restarts }])),
      problems: s.problems,
      // Last known counts, refreshed in the background: null when the node has no Redis.
      mempool: s.mempool,
      health: s.health,
      // Only with --chaos: the faults fired so far, which the chaos checker compares with the restart counts.
      ...(chaosInjected ? { chaos: { injected: chaosInjected } } : {}),
    },
  };
}

/** Lag in blocks behind what the source announced, and in seconds behind the wall clock when lagging. */
function syncReport(sync: SyncStatus) {
  const lagBlocks = sync.sourceHead != null && sync.sourceHead > sync.lastSynced ? sync.sourceHead - sync.lastSynced : 0n;
  const lagSeconds = lagBlocks > 0n && sync.lastBlockTimestamp !== null ? Math.max(0, Math.round(Date.now() / 1000 - Number(sync.lastBlockTimestamp))) : 0;
  return {
    source: sync.source ?? null,
    lastSynced: sync.lastSynced,
    totalSynced: sync.totalSynced,
    sourceHead: sync.sourceHead ?? null,
    lagBlocks,
    lagSeconds,
  };
}
