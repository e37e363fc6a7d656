import type { ActorRef, Message } from './actor.js';
import type { ActorFault, Chaos } from './chaos.js';
import type { MessageCodec } from './codec.js';
import { CodedError } from './errors.js';
import { type Envelope, Mailbox } from './mailbox.js';
import type { RuntimeMetrics } from './metrics.js';

interface PendingAsk {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** An actor's place in the system: outlives every incarnation of the actor, and every restart of its subtree. */
export interface ActorSlotState {
  readonly mailbox: Mailbox;
  /** This actor's handling-time histogram, resolved once (see `Mailbox`). */
  readonly handleSeconds: { observe(seconds: number): void };
  restarts: number;
}

/**
 * What every supervisor of one tree shares: the actors' mailboxes (so queued messages survive a
 * restart of the actor or of its whole subtree), message delivery by `ActorRef`, pending asks and
 * restart counts. Messages are encoded at `send`, so no actor can reach another's objects.
 */
export class ActorSystem {
  private readonly slots = new Map<string, ActorSlotState>();
  private readonly pendingAsks = new Map<number, PendingAsk>();
  private nextAskId = 1;

  constructor(
    readonly codec: MessageCodec,
    private readonly metrics: RuntimeMetrics,
    private readonly chaos: Chaos,
  ) {}

  /** Registers an actor id once per tree; throws on a duplicate (two actors cannot share an address). */
  register(id: string, mailboxSize: number): ActorSlotState {
    if (this.slots.has(id)) throw new Error(`duplicate actor id ${id}`);
    const slot = { mailbox: new Mailbox(id, mailboxSize, this.metrics), handleSeconds: this.metrics.handleSeconds.labels(id), restarts: 0 };
    this.slots.set(id, slot);
    return slot;
  }

  slot(id: string): ActorSlotState {
    const slot = this.slots.get(id);
    if (!slot) throw new CodedError('UNKNOWN_ACTOR', `no actor named ${id}`, { actor: id });
    return slot;
  }

  send<M extends Message>(to: ActorRef<M>, msg: M): void {
    this.slot(to.id).mailbox.push({ payload: this.codec.encode(msg), sentAt: performance.now(), crashes: 0 });
  }

  ask<R, M extends Message = Message>(to: ActorRef<M>, msg: M, timeoutMs: number): Promise<R> {
    const mailbox = this.slot(to.id).mailbox;
    const askId = this.nextAskId++;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingAsks.delete(askId);
        reject(new CodedError('ASK_TIMEOUT', `${to.id} did not reply to ${msg.type} within ${timeoutMs} ms`, { to: to.id, type: msg.type, timeoutMs }));
      }, timeoutMs);
      this.pendingAsks.set(askId, { resolve: resolve as (v: unknown) => void, reject, timer });
      try {
        mailbox.push({ payload: this.codec.encode(msg), sentAt: performance.now(), askId, crashes: 0 });
      } catch (err) {
        this.settleAsk(askId, { error: err as Error });
      }
    });
  }

  /**
   * Crash injection (the chaos facility): arm `fault` for the actor `id` and wake it with a no-op
   * message, so the fault fires now even in an actor that rarely gets mail (the Elector).
   */
  injectFault(id: string, fault: ActorFault): void {
    const mailbox = this.slot(id).mailbox;
    this.chaos.inject(id, fault);
    mailbox.push({ payload: null, sentAt: performance.now(), crashes: 0, chaosPoke: true });
  }

  restartCounts(): Record<string, number> {
    return Object.fromEntries([...this.slots].map(([id, slot]) => [id, slot.restarts]));
  }

  settleAsk(askId: number, outcome: { value: unknown } | { error: Error }): void {
    const pending = this.pendingAsks.get(askId);
    if (!pending) return; // already timed out
    this.pendingAsks.delete(askId);
    clearTimeout(pending.timer);
    if ('value' in outcome) pending.resolve(this.codec.decode(outcome.value));
    else pending.reject(outcome.error);
  }

  /** A message to a retired or stopped actor: counted, logged by the caller, and its asker told. */
  deadLetter(id: string, env: Envelope, reason: string): string {
    let type = '?';
    try {
      type = this.codec.decode<Message>(env.payload).type;
    } catch {
      // an undecodable message is reported without its type
    }
    this.metrics.deadLetters.inc({ actor: id });
    if (env.askId !== undefined) {
      this.settleAsk(env.askId, { error: new CodedError('DEAD_LETTER', `${type} to ${id} was dead-lettered: ${reason}`, { actor: id, type }) });
    }
    return type;
  }

  /** On stop or escalation of the whole tree: every mailbox refuses further mail, every pending ask fails. */
  close(reason: string): { id: string; dropped: number }[] {
    const report: { id: string; dropped: number }[] = [];
    for (const [id, slot] of this.slots) {
      const dropped = slot.mailbox.close(reason);
      for (const env of dropped) if (env.askId !== undefined) this.settleAsk(env.askId, { error: new CodedError('ACTOR_STOPPED', reason) });
      if (dropped.length > 0) report.push({ id, dropped: dropped.length });
    }
    for (const [askId] of this.pendingAsks) this.settleAsk(askId, { error: new CodedError('ACTOR_STOPPED', reason) });
    return report;
  }
}
