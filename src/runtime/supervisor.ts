import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Actor, ActorContext, ChildSpec, Message } from './actor.js';
import type { ActorFault, Chaos } from './chaos.js';
import { decode, encode, type MessageCodec, msgpackCodec } from './codec.js';
import { CodedError, type CodedErrorObject } from './errors.js';
import { type Envelope, Mailbox } from './mailbox.js';
import type { RuntimeMetrics } from './metrics.js';
import type { Pool } from './pool.js';

/** OTP restart strategies: which siblings restart with a crashed child. */
export type RestartStrategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';

export interface SupervisorOptions {
  strategy: RestartStrategy;
  /** More than `maxRestarts` restarts within `periodMs` escalates (e.g. 5 in 30 s). */
  intensity: { maxRestarts: number; periodMs: number };
  children: ChildSpec<any, any>[];
  /** Run after every child stopped on escalation; Baton releases leadership here. */
  onEscalate?: (cause: Error) => Promise<void> | void;
  /** How messages and replies are copied between actors; msgpack unless a bench asks otherwise. */
  codec?: MessageCodec;
}

export interface SupervisorModules {
  logger: Logger;
  registry: Registry;
  metrics: RuntimeMetrics;
  pool: Pool;
  chaos: Chaos;
}

/** Handler deadline when a child spec gives none: long enough for any Engine API call (8 s) plus retries. */
const DEFAULT_HANDLER_TIMEOUT_MS = 30_000;
/** Mailbox bound when a child spec gives none. */
const DEFAULT_MAILBOX_SIZE = 1_000;

/** One running instance of a child; a restart creates a new one while the slot (and mailbox) stays. */
interface Incarnation {
  readonly controller: AbortController;
  /** Set once the supervisor gave up on this incarnation: results it produces later are ignored. */
  abandoned: boolean;
  /** Rejects when the incarnation is abandoned, so a hung handler's deadline timer is cleared at once. */
  readonly abandonment: Promise<never>;
  abandon(): void;
  stopping: boolean;
  /** The envelope being handled; whoever clears it owns requeueing it. */
  current: Envelope | undefined;
  state: unknown;
  behavior: Actor<Message, unknown>;
  done: Promise<void>;
}

class ChildSlot {
  restarts = 0;
  incarnation: Incarnation | null = null;
  constructor(
    readonly spec: ChildSpec<any, any>,
    readonly mailbox: Mailbox,
    /** This child's handling-time histogram, resolved once (see `Mailbox`). */
    readonly handleSeconds: { observe(seconds: number): void },
  ) {}
}

interface PendingAsk {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

type ChildExit = { kind: 'normal' } | { kind: 'crash'; error: Error };

/**
 * An OTP-style supervisor for actors on this thread (DESIGN §1): starts children in order, stops
 * them in reverse, restarts crashed ones by strategy and restart type, and escalates once restarts
 * exceed the intensity — everything stops, `onEscalate` runs, and `done` rejects so the process
 * exits non-zero and its process manager restarts the node.
 *
 * Mailboxes belong to the supervisor's child slots, so queued messages survive a restart. The
 * message that crashed an actor is retried once by the next incarnation and dead-lettered if it
 * crashes again.
 */
export class Supervisor {
  private readonly slots: ChildSlot[] = [];
  private readonly byId = new Map<string, ChildSlot>();
  private readonly restartTimes: number[] = [];
  private readonly pendingAsks = new Map<number, PendingAsk>();
  private nextAskId = 1;
  private readonly codec: MessageCodec;
  /** Supervisor operations (crash handling, stop) run one at a time, in order. */
  private ops: Promise<void> = Promise.resolve();
  private state: 'idle' | 'running' | 'stopped' | 'escalated' = 'idle';
  private resolveDone!: () => void;
  private rejectDone!: (err: Error) => void;
  /** Resolves after `stop()`; rejects with `ESCALATED` when restart intensity was exceeded. */
  readonly done: Promise<void>;

  constructor(
    private readonly opts: SupervisorOptions,
    private readonly modules: SupervisorModules,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => {}); // observed by the caller; never an unhandled rejection
    this.codec = opts.codec ?? msgpackCodec;
    for (const spec of opts.children) {
      if (this.byId.has(spec.id)) throw new Error(`duplicate child id ${spec.id}`);
      const slot = new ChildSlot(spec, new Mailbox(spec.id, spec.mailboxSize ?? DEFAULT_MAILBOX_SIZE, modules.metrics), modules.metrics.handleSeconds.labels(spec.id));
      this.slots.push(slot);
      this.byId.set(spec.id, slot);
    }
  }

  /** Start every child in order, each after the previous one's `init` finished. A failing `init` stops the started ones and rejects. */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`supervisor already ${this.state}`);
    this.state = 'running';
    for (const [index, slot] of this.slots.entries()) {
      try {
        await this.startChild(slot);
      } catch (err) {
        await this.stopChildren(this.slots.slice(0, index));
        this.state = 'stopped';
        throw err;
      }
    }
  }

  /** Stop every child in reverse start order, then resolve `done`. */
  stop(): Promise<void> {
    return this.enqueueOp(async () => {
      if (this.state !== 'running') return;
      this.state = 'stopped';
      await this.stopChildren(this.slots);
      this.closeEverything('supervisor stopped');
      this.resolveDone();
    });
  }

  send<M extends Message>(to: string, msg: M): void {
    this.slotFor(to).mailbox.push({ payload: this.codec.encode(msg), sentAt: performance.now(), crashes: 0 });
  }

  ask<R, M extends Message = Message>(to: string, msg: M, timeoutMs: number): Promise<R> {
    const mailbox = this.slotFor(to).mailbox;
    const askId = this.nextAskId++;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingAsks.delete(askId);
        reject(new CodedError('ASK_TIMEOUT', `${to} did not reply to ${msg.type} within ${timeoutMs} ms`, { to, type: msg.type, timeoutMs }));
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
   * Crash injection (the chaos facility): arm `fault` for the child `id` and wake it with a no-op
   * message, so the fault fires now even in an actor that rarely gets mail (the Elector).
   */
  injectFault(id: string, fault: ActorFault): void {
    const mailbox = this.slotFor(id).mailbox;
    this.modules.chaos.inject(id, fault);
    mailbox.push({ payload: null, sentAt: performance.now(), crashes: 0, chaosPoke: true });
  }

  /** Restarts per child since start, for `/health` and the chaos checker. */
  restartCounts(): Record<string, number> {
    return Object.fromEntries(this.slots.map((s) => [s.spec.id, s.restarts]));
  }

  private slotFor(id: string): ChildSlot {
    const slot = this.byId.get(id);
    if (!slot) throw new CodedError('UNKNOWN_ACTOR', `no actor named ${id}`, { actor: id });
    return slot;
  }

  private enqueueOp(op: () => Promise<void>): Promise<void> {
    const next = this.ops.then(op);
    this.ops = next.catch((err) => this.modules.logger.error({ err }, 'Supervisor operation failed'));
    return next;
  }

  /** Create an incarnation, run `init` under the handler deadline, then loop over the mailbox in the background. */
  private async startChild(slot: ChildSlot): Promise<void> {
    let rejectAbandonment!: (err: Error) => void;
    const abandonment = new Promise<never>((_, reject) => (rejectAbandonment = reject));
    abandonment.catch(() => {});
    const inc: Incarnation = {
      controller: new AbortController(),
      abandoned: false,
      abandonment,
      abandon() {
        inc.abandoned = true;
        rejectAbandonment(new CodedError('ACTOR_ABANDONED', `${slot.spec.id} was abandoned`));
      },
      stopping: false,
      current: undefined,
      state: undefined,
      behavior: slot.spec.start(),
      done: Promise.resolve(),
    };
    slot.incarnation = inc;
    const ctx = this.contextFor(slot, inc);
    try {
      inc.state = await this.withDeadline(slot, inc, () => inc.behavior.init(ctx));
    } catch (err) {
      inc.abandon();
      inc.controller.abort(err);
      throw err;
    }
    inc.done = this.loop(slot, inc, ctx);
  }

  private async loop(slot: ChildSlot, inc: Incarnation, ctx: ActorContext & { askId?: number; replied: boolean; stopRequested: boolean }): Promise<void> {
    const log = ctx.logger;
    while (!inc.controller.signal.aborted) {
      let env: Envelope;
      try {
        env = await slot.mailbox.take(inc.controller.signal);
      } catch {
        return; // stopped while idle
      }
      inc.current = env;
      ctx.askId = env.askId;
      ctx.replied = false;
      const started = performance.now();
      try {
        const msg = env.chaosPoke ? null : this.codec.decode<Message>(env.payload);
        inc.state = await this.withDeadline(slot, inc, () => this.runHandler(slot, inc, msg, ctx));
        if (inc.abandoned) return;
        inc.current = undefined;
        if (env.askId !== undefined && !ctx.replied) {
          this.settleAsk(env.askId, { error: new CodedError('NO_REPLY', `${slot.spec.id} handled ${msg?.type} without replying`, { actor: slot.spec.id }) });
        }
      } catch (err) {
        if (inc.abandoned) return;
        if (inc.stopping) {
          this.takeCurrentForRequeue(slot, inc); // interrupted by shutdown: the next incarnation gets it
          return;
        }
        inc.abandon();
        inc.controller.abort(err);
        const error = err instanceof Error ? err : new Error(String(err));
        log.error({ err: error, code: (error as CodedError).code }, 'Actor crashed');
        this.retryOrDeadLetter(slot, inc);
        void this.enqueueOp(() => this.onChildExit(slot, { kind: 'crash', error }));
        return;
      } finally {
        slot.handleSeconds.observe((performance.now() - started) / 1000);
      }
      if (ctx.stopRequested) {
        inc.abandon();
        inc.controller.abort(new CodedError('ACTOR_STOPPED', `${slot.spec.id} stopped normally`));
        await this.terminate(inc, ctx);
        void this.enqueueOp(() => this.onChildExit(slot, { kind: 'normal' }));
        return;
      }
    }
  }

  /** The chaos facility's faults fire here, in place of the handler, so they look exactly like real ones. */
  private runHandler(slot: ChildSlot, inc: Incarnation, msg: Message | null, ctx: ActorContext): unknown {
    switch (this.modules.chaos.takeActorFault(slot.spec.id)) {
      case 'throw':
        throw new CodedError('CHAOS_THROW', `chaos: injected crash in ${slot.spec.id}`);
      case 'hang':
        return new Promise(() => {});
      case undefined:
        // A chaos wake-up whose fault an earlier message already fired: nothing for the actor.
        return msg === null ? inc.state : inc.behavior.handle(msg, inc.state, ctx);
    }
  }

  /** Races `fn` against the child's deadline: a handler or `init` that exceeds it is hung, a crash. */
  private async withDeadline<T>(slot: ChildSlot, inc: Incarnation, fn: () => T | Promise<T>): Promise<T> {
    const timeoutMs = slot.spec.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new CodedError('HANDLER_TIMEOUT', `${slot.spec.id} exceeded its ${timeoutMs} ms deadline`, { actor: slot.spec.id, timeoutMs })),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([Promise.resolve().then(fn), deadline, inc.abandonment]);
    } finally {
      clearTimeout(timer);
    }
  }

  private retryOrDeadLetter(slot: ChildSlot, inc: Incarnation): void {
    const env = inc.current;
    inc.current = undefined;
    if (!env) return;
    if (env.crashes >= 1) this.deadLetter(slot, env, 'crashed its actor twice');
    else slot.mailbox.requeueFront({ ...env, crashes: env.crashes + 1 });
  }

  private takeCurrentForRequeue(slot: ChildSlot, inc: Incarnation): void {
    const env = inc.current;
    inc.current = undefined;
    if (env) slot.mailbox.requeueFront(env);
  }

  private deadLetter(slot: ChildSlot, env: Envelope, reason: string): void {
    let type = '?';
    try {
      type = this.codec.decode<Message>(env.payload).type;
    } catch {
      // an undecodable message is logged without its type
    }
    this.modules.metrics.deadLetters.inc({ actor: slot.spec.id });
    this.modules.logger.error({ actor: slot.spec.id, type, reason }, 'Message dead-lettered');
    if (env.askId !== undefined) {
      this.settleAsk(env.askId, { error: new CodedError('DEAD_LETTER', `${type} to ${slot.spec.id} was dead-lettered: ${reason}`, { actor: slot.spec.id, type }) });
    }
  }

  /** OTP's restart decision for a child that exited, run as a serialised supervisor operation. */
  private async onChildExit(slot: ChildSlot, exit: ChildExit): Promise<void> {
    if (this.state !== 'running') return;
    const { restart, id } = slot.spec;
    if (restart === 'temporary' || (restart === 'transient' && exit.kind === 'normal')) {
      this.retire(slot, exit.kind === 'normal' ? 'stopped normally' : 'temporary child crashed');
      return;
    }
    const now = performance.now();
    this.restartTimes.push(now);
    while (this.restartTimes.length > 0 && this.restartTimes[0]! < now - this.opts.intensity.periodMs) this.restartTimes.shift();
    if (this.restartTimes.length > this.opts.intensity.maxRestarts) {
      const cause = exit.kind === 'crash' ? exit.error : new Error(`${id} exited`);
      return this.escalate(slot, cause);
    }
    const group = this.restartGroup(slot);
    await this.stopChildren(group.filter((s) => s !== slot));
    for (const member of group) {
      if (member !== slot && member.spec.restart === 'temporary') {
        this.retire(member, 'temporary sibling stopped by a group restart');
        continue;
      }
      member.restarts++;
      this.modules.metrics.restarts.inc({ actor: member.spec.id });
      this.modules.logger.warn({ actor: member.spec.id, restarts: member.restarts, strategy: this.opts.strategy }, 'Restarting actor');
      try {
        await this.startChild(member);
      } catch (err) {
        void this.enqueueOp(() => this.onChildExit(member, { kind: 'crash', error: err as Error }));
      }
    }
  }

  private restartGroup(slot: ChildSlot): ChildSlot[] {
    const live = this.slots.filter((s) => s.incarnation !== null);
    switch (this.opts.strategy) {
      case 'one_for_one':
        return [slot];
      case 'one_for_all':
        return live;
      case 'rest_for_one':
        return live.filter((s) => this.slots.indexOf(s) >= this.slots.indexOf(slot));
    }
  }

  private async escalate(slot: ChildSlot, cause: Error): Promise<void> {
    this.state = 'escalated';
    const error = new CodedError('ESCALATED', `restart intensity exceeded (${this.opts.intensity.maxRestarts} in ${this.opts.intensity.periodMs} ms), last crash in ${slot.spec.id}: ${cause.message}`, {
      actor: slot.spec.id,
      cause: cause.message,
    });
    this.modules.logger.fatal({ err: cause, actor: slot.spec.id }, 'Restart intensity exceeded; stopping everything');
    await this.stopChildren(this.slots);
    this.closeEverything('supervisor escalated');
    try {
      await this.opts.onEscalate?.(error);
    } catch (err) {
      this.modules.logger.error({ err }, 'Escalation hook failed');
    }
    this.rejectDone(error);
  }

  /** Stop children in reverse start order, each within its `shutdownMs`. */
  private async stopChildren(slots: ChildSlot[]): Promise<void> {
    for (const slot of [...slots].reverse()) await this.stopChild(slot);
  }

  private async stopChild(slot: ChildSlot): Promise<void> {
    const inc = slot.incarnation;
    if (!inc) return;
    slot.incarnation = null;
    if (inc.abandoned) return;
    inc.stopping = true;
    inc.controller.abort(new CodedError('ACTOR_STOPPED', `${slot.spec.id} is stopping`));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      inc.done.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), slot.spec.shutdownMs))),
    ]);
    clearTimeout(timer);
    inc.abandon();
    if (timedOut) {
      this.modules.logger.warn({ actor: slot.spec.id, shutdownMs: slot.spec.shutdownMs }, 'Actor did not stop in time; abandoning it');
      this.takeCurrentForRequeue(slot, inc);
      return;
    }
    await this.terminate(inc, this.contextFor(slot, inc));
  }

  private async terminate(inc: Incarnation, ctx: ActorContext): Promise<void> {
    try {
      await inc.behavior.terminate?.(inc.state, ctx);
    } catch (err) {
      ctx.logger.warn({ err }, 'Actor terminate failed');
    }
  }

  /** A child that will not run again: its mailbox refuses new messages and what was queued is dead-lettered. */
  private retire(slot: ChildSlot, reason: string): void {
    slot.incarnation = null;
    for (const env of slot.mailbox.close(reason)) this.deadLetter(slot, env, reason);
  }

  /** On stop or escalation: queued messages are dropped (counted and logged once per actor), pending asks fail. */
  private closeEverything(reason: string): void {
    for (const slot of this.slots) {
      const dropped = slot.mailbox.close(reason);
      for (const env of dropped) if (env.askId !== undefined) this.settleAsk(env.askId, { error: new CodedError('ACTOR_STOPPED', reason) });
      if (dropped.length > 0) this.modules.logger.info({ actor: slot.spec.id, dropped: dropped.length, reason }, 'Queued messages dropped');
    }
    for (const [askId] of this.pendingAsks) this.settleAsk(askId, { error: new CodedError('ACTOR_STOPPED', reason) });
  }

  private settleAsk(askId: number, outcome: { value: unknown } | { error: Error }): void {
    const pending = this.pendingAsks.get(askId);
    if (!pending) return; // already timed out
    this.pendingAsks.delete(askId);
    clearTimeout(pending.timer);
    if ('value' in outcome) pending.resolve(this.codec.decode(outcome.value));
    else pending.reject(outcome.error);
  }

  private contextFor(slot: ChildSlot, inc: Incarnation) {
    const { logger, registry, pool } = this.modules;
    const id = slot.spec.id;
    const ctx = {
      name: id,
      signal: inc.controller.signal,
      logger: logger.child({ actor: id }),
      metrics: registry,
      pool,
      askId: undefined as number | undefined,
      replied: false,
      stopRequested: false,
      send: (to: string, msg: Message) => this.send(to, msg),
      ask: <R>(to: string, msg: Message, timeoutMs: number) => this.ask<R>(to, msg, timeoutMs),
      reply: (value: unknown) => {
        if (ctx.replied) throw new Error(`${id}: second reply to one ask`);
        if (ctx.askId === undefined) return; // sent, not asked: nobody waits for an answer
        ctx.replied = true;
        this.settleAsk(ctx.askId, { value: this.codec.encode(value) });
      },
      replyError: (err: CodedError) => {
        if (ctx.replied) throw new Error(`${id}: second reply to one ask`);
        if (ctx.askId === undefined) return; // sent, not asked: nobody waits for an answer
        ctx.replied = true;
        this.settleAsk(ctx.askId, { error: CodedError.fromObject(decode<CodedErrorObject>(encode(err.toObject()))) });
      },
      schedule: (delayMs: number, msg: Message) => {
        const signal = inc.controller.signal;
        const cancel = () => clearTimeout(timer);
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', cancel);
          if (!inc.abandoned) this.send(id, msg);
        }, delayMs);
        signal.addEventListener('abort', cancel, { once: true });
      },
      stop: () => {
        ctx.stopRequested = true;
      },
    };
    return ctx;
  }
}
