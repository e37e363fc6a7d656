import { CodedError } from './errors.js';
import type { RuntimeMetrics } from './metrics.js';

/** What a mailbox holds: the encoded message and what the runtime needs to route and measure it. */
export interface Envelope {
  /** The message as encoded at `send` (msgpack bytes by default), so the sender cannot mutate it afterwards. */
  readonly payload: unknown;
  /** `performance.now()` at send: mailbox wait time is a histogram. */
  readonly sentAt: number;
  /** Correlation id of a pending `ask`, absent for a plain `send`. */
  readonly askId?: number;
  /** How many times this message already crashed its actor (0, then 1; a second crash dead-letters it). */
  readonly crashes: number;
  /** A wake-up sent with a chaos injection: it only gives the armed fault a message to fire on, and is otherwise skipped. */
  readonly chaosPoke?: true;
}

/**
 * A bounded FIFO queue owned by the actor system, so it survives restarts of the actor
 * that reads it. Overflow is a coded `QUEUE_FULL` error for the sender: nothing grows unbounded.
 */
export class Mailbox {
  private readonly items: Envelope[] = [];
  private waiter: ((env: Envelope) => void) | null = null;
  private closedReason: string | null = null;
  /** Label children resolved once: a labelled `set`/`observe` per message would hash the labels each time. */
  private readonly lengthGauge;
  private readonly waitHistogram;

  constructor(
    readonly owner: string,
    readonly maxLength: number,
    metrics: RuntimeMetrics,
  ) {
    this.lengthGauge = metrics.mailboxLength.labels(owner);
    this.waitHistogram = metrics.mailboxWaitSeconds.labels(owner);
  }

  get length(): number {
    return this.items.length;
  }

  /** Enqueue at the back; throws `QUEUE_FULL` when `maxLength` messages are waiting. */
  push(env: Envelope): void {
    if (this.closedReason !== null) {
      throw new CodedError('ACTOR_STOPPED', `actor ${this.owner} is stopped: ${this.closedReason}`, { actor: this.owner });
    }
    if (this.items.length >= this.maxLength) {
      throw new CodedError('QUEUE_FULL', `mailbox of ${this.owner} is full (${this.maxLength})`, {
        actor: this.owner,
        maxLength: this.maxLength,
      });
    }
    this.deliver(env, false);
  }

  /**
   * Put a message back at the front: the one that crashed the actor (retried once after the
   * restart) or one interrupted by a shutdown. It was already admitted, so the bound is not checked.
   */
  requeueFront(env: Envelope): void {
    this.deliver(env, true);
  }

  /** The next message, waiting for one if the mailbox is empty. Rejects when `signal` aborts. */
  take(signal: AbortSignal): Promise<Envelope> {
    const next = this.items.shift();
    if (next) {
      this.observeTaken(next);
      return Promise.resolve(next);
    }
    if (this.waiter) throw new Error(`mailbox of ${this.owner} already has a reader`);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.waiter = null;
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiter = (env) => {
        signal.removeEventListener('abort', onAbort);
        this.waiter = null;
        this.observeTaken(env);
        resolve(env);
      };
    });
  }

  /** Accept messages again: the actor was retired and is started anew with its restarted subtree. */
  reopen(): void {
    this.closedReason = null;
  }

  /** Refuse further messages and hand back whatever was still queued (for dead-lettering). */
  close(reason: string): Envelope[] {
    this.closedReason = reason;
    const rest = this.items.splice(0);
    this.lengthGauge.set(0);
    return rest;
  }

  private deliver(env: Envelope, front: boolean): void {
    if (this.waiter) {
      this.waiter(env);
      return;
    }
    if (front) this.items.unshift(env);
    else this.items.push(env);
    this.lengthGauge.set(this.items.length);
  }

  private observeTaken(env: Envelope): void {
    this.lengthGauge.set(this.items.length);
    this.waitHistogram.observe((performance.now() - env.sentAt) / 1000);
  }
}
