/**
 * What `/health` and `/status` report about the node. Actors write their part through
 * `StatusReport`, which has no way to read it back: no actor decides anything by it (what an actor
 * needs to know reaches it as a message). The HTTP server reads it, and must answer at once even
 * while the Builder is in the middle of a block or hung (that is exactly when an operator looks).
 */
import type { MempoolSizes } from './mempool.js';

/** The HealthMonitor's verdict as `/health` shows it. */
export interface HealthReport {
  verdict: 'healthy' | 'unhealthy';
  reasons: string[];
  /** Could this node take over now (a standby's readiness; false on a leader and a member). */
  ready: boolean;
  notReadyBecause: string[];
  /** The other leader-capable nodes, from their health records. */
  standbys: { id: string; ready: boolean; reasons: string[]; elHead: string | null }[];
  /** Why an unhealthy leader has not handed over (no ready standby, minimum term), or null. */
  staying: string | null;
  /** This node's recent step-downs for health, newest first. */
  stepDowns: { at: string; reason: string; to: string }[];
}

/** Whether and why this node produces blocks. */
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
  /** The HealthMonitor's verdict on this node, and what it did about it (null until its first probe). */
  health: HealthReport | null;
  /** The shared mempool's last known sizes (the HealthMonitor's probe); null without Redis. */
  mempool: MempoolSizes | null;
}

/** The write side of the report: what actors may do with it. */
export interface StatusReport {
  update(patch: Partial<Omit<NodeStatus, 'role' | 'instanceId' | 'leaseBackend' | 'problems' | 'sync'>>): void;
  /** Merge Syncer or Executor progress into `sync` (each owns different fields). */
  updateSync(patch: Partial<Omit<SyncStatus, 'totalSynced'>>): void;
  /** One more block executed by this node's Executor (`sync.totalSynced`, which survives actor restarts). */
  countSynced(): void;
  /** The Syncer stopped following (this standby leads now): `sync` is cleared. */
  clearSync(): void;
  /** Record (or, with `null`, clear) a problem of one component; any problem makes `/health` 503. */
  problem(component: string, reason: string | null): void;
}
