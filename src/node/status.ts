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

export interface NodeStatus {
  role: 'leader' | 'member';
  instanceId: string;
  leaseBackend: string;
  isLeader: boolean;
  epoch: bigint | null;
  holder: string | null;
  /** API URL the current holder advertised with its lease (what members sync from). */
  leaderApiUrl: string | null;
  /** Committed head as this node last saw it. */
  head: { number: bigint; hash: string } | null;
  producer: ProducerStatus;
  /** Components that are degraded, each with a reason; any entry makes `/health` 503. */
  problems: Record<string, string>;
}

export class StatusBoard {
  readonly current: NodeStatus;

  constructor(init: Pick<NodeStatus, 'role' | 'instanceId' | 'leaseBackend'>) {
    this.current = {
      ...init,
      isLeader: false,
      epoch: null,
      holder: null,
      leaderApiUrl: null,
      head: null,
      producer: { state: 'following' },
      problems: {},
    };
  }

  update(patch: Partial<NodeStatus>): void {
    Object.assign(this.current, patch);
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
