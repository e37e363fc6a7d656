import { CodedError } from './errors.js';

/** Faults the runtime can inject into a named actor's next message. */
export type ActorFault = 'throw' | 'hang';

/** Every fault kind the chaos facility counts; the chaos checker compares these with restart counts. */
export type FaultKind = ActorFault | 'killWorker';

/**
 * Crash injection as a runtime feature (DESIGN §1): a named actor throws or hangs on its next
 * message, or a pool worker dies while running a task. Off unless enabled by flag or env
 * (`--chaos` / `BATON_CHAOS=1`); when off, every injection is refused with `CHAOS_DISABLED`, so a
 * production node cannot be crashed through its admin surface by mistake.
 */
export class Chaos {
  private readonly actorFaults = new Map<string, ActorFault>();
  /** Task names whose next run kills its worker; `*` matches any task. */
  private readonly workerKills = new Set<string>();
  private readonly injectedCounts = new Map<string, number>();

  constructor(readonly enabled: boolean) {}

  /** Make `actor` throw (or hang until its deadline) on the next message it handles. */
  inject(actor: string, fault: ActorFault): void {
    this.assertEnabled();
    this.actorFaults.set(actor, fault);
  }

  /** Make the pool worker that runs the next `task` (any task when omitted) die mid-task. */
  killWorker(task = '*'): void {
    this.assertEnabled();
    this.workerKills.add(task);
  }

  /** Called by the runtime before each message: the pending fault for `actor`, consumed once. */
  takeActorFault(actor: string): ActorFault | undefined {
    const fault = this.actorFaults.get(actor);
    if (fault === undefined) return undefined;
    this.actorFaults.delete(actor);
    this.count(`${actor}:${fault}`);
    return fault;
  }

  /** Called by the pool before each task: whether this run must kill its worker, consumed once. */
  takeWorkerKill(task: string): boolean {
    const key = this.workerKills.has(task) ? task : this.workerKills.has('*') ? '*' : undefined;
    if (key === undefined) return false;
    this.workerKills.delete(key);
    this.count(`pool:killWorker`);
    return true;
  }

  /** Faults actually fired so far, keyed `<actor>:<fault>` or `pool:killWorker`. */
  injected(): Record<string, number> {
    return Object.fromEntries(this.injectedCounts);
  }

  private count(key: string): void {
    this.injectedCounts.set(key, (this.injectedCounts.get(key) ?? 0) + 1);
  }

  private assertEnabled(): void {
    if (!this.enabled) {
      throw new CodedError('CHAOS_DISABLED', 'crash injection is disabled; start the node with --chaos to enable it');
    }
  }
}
