import type { HealthReport } from '../adapters/http/index.js';
import type { StatusBoard } from './status.js';

/** The `/health` body (DESIGN §6): role, leadership, head, producer state, actor restarts and every current problem. */
export function healthReport(status: StatusBoard, restartCounts: Record<string, number>, executionClient: object): HealthReport {
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
      executionClient,
      actors: Object.fromEntries(Object.entries(restartCounts).map(([id, restarts]) => [id, { restarts }])),
      problems: s.problems,
    },
  };
}
