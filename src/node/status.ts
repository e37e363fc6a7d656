import type { MempoolSizes } from '../adapters/mempool/interface.js';

/**
 * What `/health` reports, written by the actors that own each part and read by the HTTP server.
 * A plain object rather than an actor `ask`: `/health` must answer at once even while the Builder
 * is in the middle of a block or hung (that is exactly when an operator looks).
 */
export interface ProducerStatus {
  /** `following`: not leader; `resuming`: catching the EL up to the committed head; `producing`; `stalled`: leader but not producing. */
  state: 'following' | 'resuming' | 'producing' | 'stalled';
  /** Why the node is not producing, in words an operator can act on. */
  reason?: string;
}

export interface SyncStatus {
  lastSynced: bigint;
  /** Blocks executed since this process started. */
  totalSynced: number;
  /** Header timestamp (s) of `lastSynced`, for the lag in seconds. */
  lastBlockTimestamp: bigint | null;
  /** Highest block the source announced (feed or `/blocks`), for the lag in blocks. */
  sourceHead?: bigint | null;
  /** The leader API URL being followed. */
  source?: string | null;
}

export interface NodeStatus {
  role: 'leader' | 'member';
  instanceId: string;
  leaseBackend: string;
  isLeader: boolean;
  epoch: bigint | null;
  holder: string | null;
  /** The holder's epoch as the lease backend reports it (this node's own `epoch` is set only while it leads). */
  holderEpoch: bigint | null;
  /** The lease backend's own cluster, where it has one (etcd members and which is the Raft leader). */
  leaseCluster: object[] | null;
  /** API URL the current holder advertised with its lease (what members sync from). */
  leaderApiUrl: string | null;
  /** Committed head as this node last saw it. */
  head: { number: bigint; hash: string } | null;
  producer: ProducerStatus;
  /** Operator pause (`baton_pause`): the node neither campaigns nor builds until `baton_resume`. Survives actor restarts. */
  paused: boolean;
  /** Why a leader-capable node is not campaigning now (EL unreachable, paused), or null. */
  notCampaigning: string | null;
  /** The EL's own head, from the probe: equal to `head` when this node is caught up. */
  elHead: { number: bigint; hash: string } | null;
  /** Syncer/Executor progress (members, and standbys following the leader). */
  sync: SyncStatus | null;
  /** Components that are degraded, each with a reason; any entry makes `/health` 503. */
  problems: Record<string, string>;
  /** The shared mempool's last known sizes (`startMempoolProbe`); null without Redis. */
  mempool: MempoolSizes | null;
}

export class StatusBoard {
  readonly current: NodeStatus;

  constructor(init: Pick<NodeStatus, 'role' | 'instanceId' | 'leaseBackend'>) {
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
    };
  }

  update(patch: Partial<NodeStatus>): void {
    Object.assign(this.current, patch);
  }

  /** Merge Syncer or Executor progress into `sync` (each owns different fields). */
  updateSync(patch: Partial<SyncStatus>): void {
    this.current.sync = { lastSynced: -1n, totalSynced: 0, lastBlockTimestamp: null, ...this.current.sync, ...patch };
  }

  /** Record (or, with `null`, clear) a problem of one component. */
  problem(component: string, reason: string | null): void {
    if (reason === null) delete this.current.problems[component];
    else this.current.problems[component] = reason;
  }

  healthy(): boolean {
    return Object.keys(this.current.problems).length === 0 && this.current.producer.state !== 'stalled';
  }
}
