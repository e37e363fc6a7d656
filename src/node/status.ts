import type { Gauge } from 'prom-client';
import type { NodeStatus, StatusReport, SyncStatus } from '../types/report.js';

/**
 * The node's report as `/health` and `/status` show it: actors write it through `StatusReport`
 * and never read it; the HTTP server reads `current`.
 */
/** The Prometheus gauges that mirror the report (the leadership, head and sync progress it holds). */
export interface StatusGauges {
  isLeader: Gauge;
  epoch: Gauge;
  headNumber: Gauge;
  lastSynced: Gauge;
  syncLag: Gauge;
}

export class StatusBoard implements StatusReport {
  readonly current: NodeStatus;

  constructor(
    init: Pick<NodeStatus, 'role' | 'instanceId' | 'leaseBackend'>,
    private readonly gauges?: StatusGauges,
  ) {
    this.current = {
      ...init,
      isLeader: false,
      epoch: null,
      holder: null,
      holderEpoch: null,
      leaseCluster: null,
      leaderApiUrl: null,
      head: null,
      producer: { state: 'following' },
      paused: false,
      notCampaigning: null,
      elHead: null,
      sync: null,
      problems: {},
      mempool: null,
      health: null,
    };
  }

  update(patch: Partial<NodeStatus>): void {
    Object.assign(this.current, patch);
    this.mirror();
  }

  updateSync(patch: Partial<Omit<SyncStatus, 'totalSynced'>>): void {
    this.current.sync = { lastSynced: -1n, totalSynced: 0, lastBlockTimestamp: null, ...this.current.sync, ...patch };
    this.mirror();
  }

  countSynced(): void {
    this.updateSync({});
    this.current.sync!.totalSynced++;
  }

  clearSync(): void {
    this.current.sync = null;
  }

  problem(component: string, reason: string | null): void {
    if (reason === null) delete this.current.problems[component];
    else this.current.problems[component] = reason;
  }

  healthy(): boolean {
    return Object.keys(this.current.problems).length === 0 && this.current.producer.state !== 'stalled';
  }

  private mirror(): void {
    const g = this.gauges;
    if (!g) return;
    const s = this.current;
    g.isLeader.set(s.isLeader ? 1 : 0);
    g.epoch.set(s.isLeader ? Number(s.epoch ?? 0n) : 0);
    if (s.head) g.headNumber.set(Number(s.head.number));
    if (s.sync) {
      g.lastSynced.set(Number(s.sync.lastSynced));
      g.syncLag.set(s.sync.sourceHead != null && s.sync.sourceHead > s.sync.lastSynced ? Number(s.sync.sourceHead - s.sync.lastSynced) : 0);
    }
  }
}
