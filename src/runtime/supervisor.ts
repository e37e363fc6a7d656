import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  type Actor,
  type ActorContext,
  type ActorRef,
  type ChildSpec,
  isSupervisorSpec,
  type Message,
  type RestartStrategy,
  type SupervisorSpec,
  type TreeSpec,
} from './actor.js';
import type { ActorFault, Chaos } from './chaos.js';
import { decode, encode, type MessageCodec, msgpackCodec } from './codec.js';
import { CodedError, type CodedErrorObject } from './errors.js';
import type { Envelope } from './mailbox.js';
import type { RuntimeMetrics } from './metrics.js';
import type { Pool } from './pool.js';
import { type ActorSlotState, ActorSystem } from './system.js';

export type { RestartStrategy } from './actor.js';

export interface SupervisorOptions {
  strategy: RestartStrategy;
  /** More than `maxRestarts` restarts within `periodMs` escalates (e.g. 5 in 30 s). */
  intensity: { maxRestarts: number; periodMs: number };
  /** Workers and nested supervisors, started in this order and stopped in reverse. */
  children: TreeSpec[];
  /** Run after every child stopped on escalation of the root; Baton releases leadership here. */
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
  /** `ActorContext.incarnation`. */
  readonly number: number;
}

/** Incarnation numbers, unique in this process. */
let incarnations = 0;

/** A worker child of this supervisor; its mailbox and restart count live in the actor system. */
class WorkerSlot {
  readonly kind = 'worker';
  incarnation: Incarnation | null = null;
  constructor(
    // biome-ignore lint/suspicious/noExplicitAny: a slot holds any child, whatever its message and state types
    readonly spec: ChildSpec<any, any>,
    readonly actor: ActorSlotState,
  ) {}
  get id(): string {
    return this.spec.id;
  }
  get live(): boolean {
    return this.incarnation !== null;
  }
}

/** A nested supervisor child; each (re)start runs a new `Supervisor` over the same actors. */
class SubtreeSlot {
  readonly kind = 'supervisor';
  running: Supervisor | null = null;
  constructor(readonly spec: SupervisorSpec) {}
  get id(): string {
    return this.spec.id;
  }
  get live(): boolean {
    return this.running !== null;
  }
}

type Slot = WorkerSlot | SubtreeSlot;

type ChildExit = { kind: 'normal' } | { kind: 'crash'; error: Error };

/**
 * An OTP-style supervisor for actors on this thread (DESIGN §1): starts children in order, stops
 * them in reverse, restarts crashed ones by strategy and restart type, and escalates once restarts
 * exceed the intensity. A child may itself be a supervisor (`SupervisorSpec`): its escalation is a
 * crash of that child here. At the root, escalation stops everything, runs `onEscalate`, and
 * rejects `done`, so the process exits non-zero and its process manager restarts the node.
 *
 * Mailboxes belong to the tree's `ActorSystem`, so queued messages survive a restart of an actor
 * or of its subtree. The message that crashed an actor is retried once by the next incarnation and
 * dead-lettered if it crashes again.
 */
export class Supervisor {
  private readonly slots: Slot[];
  private readonly restartTimes: number[] = [];
  /** The actors' mailboxes, addresses and pending asks, shared by every supervisor of this tree. */
  readonly system: ActorSystem;
  private readonly isRoot: boolean;
  private readonly codec: MessageCodec;
  /** Supervisor operations (crash handling, stop) run one at a time, in order. */
  private ops: Promise<void> = Promise.resolve();
  private state: 'idle' | 'running' | 'stopped' | 'escalated' = 'idle';
  private resolveDone!: () => void;
  private rejectDone!: (err: Error) => void;
  /** Resolves after `stop()`; rejects with `ESCALATED` when restart intensity was exceeded. */
  readonly done: Promise<void>;

  constructor(
    private readonly opts: SupervisorOptions & { id?: string },
    private readonly modules: SupervisorModules,
    /** Set for a nested supervisor: the tree's system, created by the root. */
    system?: ActorSystem,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => {}); // observed by the caller; never an unhandled rejection
    this.codec = opts.codec ?? msgpackCodec;
    this.isRoot = system === undefined;
    this.system = system ?? new ActorSystem(this.codec, modules.metrics, modules.chaos);
    if (this.isRoot) registerTree(this.system, opts.children);
    this.slots = opts.children.map((spec) => (isSupervisorSpec(spec) ? new SubtreeSlot(spec) : new WorkerSlot(spec, this.system.slot(spec.id))));
  }

  private get name(): string {
    return this.opts.id ?? 'root';
  }

  /**
   * Start every child in order, each after the previous one's `init` finished. A failing `init`
   * stops the started ones and rejects. `restarting` counts each actor's start as a restart (a
   * subtree restarted by its parent).
   */
  async start(restarting = false): Promise<void> {
    if (this.state !== 'idle') throw new Error(`supervisor ${this.name} already ${this.state}`);
    this.state = 'running';
    for (const [index, slot] of this.slots.entries()) {
      try {
        await this.startSlot(slot, restarting);
      } catch (err) {
        await this.stopSlots(this.slots.slice(0, index));
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
      await this.stopSlots(this.slots);
      if (this.isRoot) this.closeEverything('supervisor stopped');
      this.resolveDone();
    });
  }

  send<M extends Message>(to: ActorRef<M>, msg: M): void {
    this.system.send(to, msg);
  }

  ask<R, M extends Message = Message>(to: ActorRef<M>, msg: M, timeoutMs: number): Promise<R> {
    return this.system.ask<R, M>(to, msg, timeoutMs);
  }

  /** Crash injection (the chaos facility): see `ActorSystem.injectFault`. */
  injectFault(id: string, fault: ActorFault): void {
    this.system.injectFault(id, fault);
  }

  /** Restarts per actor of the whole tree since start, for `/health` and the chaos checker. */
  restartCounts(): Record<string, number> {
    return this.system.restartCounts();
  }

  private enqueueOp(op: () => Promise<void>): Promise<void> {
    const next = this.ops.then(op);
    this.ops = next.catch((err) => this.modules.logger.error({ err }, 'Supervisor operation failed'));
    return next;
  }

  private async startSlot(slot: Slot, restarting: boolean): Promise<void> {
    if (slot.kind === 'supervisor') return this.startSubtree(slot, restarting);
    if (restarting) {
      slot.actor.restarts++;
      this.modules.metrics.restarts.inc({ actor: slot.id });
      this.modules.logger.warn({ actor: slot.id, restarts: slot.actor.restarts, supervisor: this.name }, 'Restarting actor');
    }
    return this.startChild(slot);
  }

  /** A nested supervisor over the same actors; its exit after escalation is a crash of this child. */
  private async startSubtree(slot: SubtreeSlot, restarting: boolean): Promise<void> {
    const { kind: _kind, ...opts } = slot.spec;
    const sub = new Supervisor({ ...opts, codec: this.codec }, this.modules, this.system);
    slot.running = sub;
    try {
      await sub.start(restarting);
    } catch (err) {
      slot.running = null;
      throw err;
    }
    sub.done.catch((error: Error) => {
      if (slot.running !== sub) return; // stopped by us, not a crash
      slot.running = null;
      void this.enqueueOp(() => this.onChildExit(slot, { kind: 'crash', error }));
    });
  }

  /** Create an incarnation, run `init` under the handler deadline, then loop over the mailbox in the background. */
  private async startChild(slot: WorkerSlot): Promise<void> {
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
      number: ++incarnations,
    };
    slot.incarnation = inc;
    slot.actor.mailbox.reopen();
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

  private async loop(slot: WorkerSlot, inc: Incarnation, ctx: ActorContext & { askId?: number; replied: boolean; stopRequested: boolean }): Promise<void> {
    const log = ctx.logger;
    while (!inc.controller.signal.aborted) {
      let env: Envelope;
      try {
        env = await slot.actor.mailbox.take(inc.controller.signal);
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
          this.system.settleAsk(env.askId, {
            error: new CodedError('NO_REPLY', `${slot.spec.id} handled ${msg?.type} without replying`, { actor: slot.spec.id }),
          });
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
        slot.actor.handleSeconds.observe((performance.now() - started) / 1000);
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
  private runHandler(slot: WorkerSlot, inc: Incarnation, msg: Message | null, ctx: ActorContext): unknown {
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
  private async withDeadline<T>(slot: WorkerSlot, inc: Incarnation, fn: () => T | Promise<T>): Promise<T> {
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

  private retryOrDeadLetter(slot: WorkerSlot, inc: Incarnation): void {
    const env = inc.current;
    inc.current = undefined;
    if (!env) return;
    if (env.crashes >= 1) this.deadLetter(slot, env, 'crashed its actor twice');
    else slot.actor.mailbox.requeueFront({ ...env, crashes: env.crashes + 1 });
  }

  private takeCurrentForRequeue(slot: WorkerSlot, inc: Incarnation): void {
    const env = inc.current;
    inc.current = undefined;
    if (env) slot.actor.mailbox.requeueFront(env);
  }

  private deadLetter(slot: WorkerSlot, env: Envelope, reason: string): void {
    const type = this.system.deadLetter(slot.id, env, reason);
    this.modules.logger.error({ actor: slot.id, type, reason }, 'Message dead-lettered');
  }

  /** OTP's restart decision for a child that exited, run as a serialised supervisor operation. */
  private async onChildExit(slot: Slot, exit: ChildExit): Promise<void> {
    if (this.state !== 'running') return;
    const restart = slot.kind === 'worker' ? slot.spec.restart : 'permanent';
    if (slot.kind === 'worker' && (restart === 'temporary' || (restart === 'transient' && exit.kind === 'normal'))) {
      this.retire(slot, exit.kind === 'normal' ? 'stopped normally' : 'temporary child crashed');
      return;
    }
    const now = performance.now();
    this.restartTimes.push(now);
    while (this.restartTimes.length > 0 && this.restartTimes[0]! < now - this.opts.intensity.periodMs) this.restartTimes.shift();
    if (this.restartTimes.length > this.opts.intensity.maxRestarts) {
      const cause = exit.kind === 'crash' ? exit.error : new Error(`${slot.id} exited`);
      return this.escalate(slot, cause);
    }
    const group = this.restartGroup(slot);
    await this.stopSlots(group.filter((s) => s !== slot));
    for (const member of group) {
      if (member !== slot && member.kind === 'worker' && member.spec.restart === 'temporary') {
        this.retire(member, 'temporary sibling stopped by a group restart');
        continue;
      }
      try {
        await this.startSlot(member, true);
      } catch (err) {
        void this.enqueueOp(() => this.onChildExit(member, { kind: 'crash', error: err as Error }));
      }
    }
  }

  private restartGroup(slot: Slot): Slot[] {
    const live = this.slots.filter((s) => s.live || s === slot);
    switch (this.opts.strategy) {
      case 'one_for_one':
        return [slot];
      case 'one_for_all':
        return live;
      case 'rest_for_one':
        return live.filter((s) => this.slots.indexOf(s) >= this.slots.indexOf(slot));
    }
  }

  /**
   * Restarts exceeded this supervisor's intensity: stop every child. At the root the node is done
   * (`onEscalate`, then `done` rejects); a nested supervisor only exits, and its parent handles
   * that as a crash of this subtree (its mailboxes stay open for the restarted actors).
   */
  private async escalate(slot: Slot, cause: Error): Promise<void> {
    this.state = 'escalated';
    const error = new CodedError(
      'ESCALATED',
      `restart intensity of ${this.name} exceeded (${this.opts.intensity.maxRestarts} in ${this.opts.intensity.periodMs} ms), last crash in ${slot.id}: ${cause.message}`,
      {
        actor: slot.id,
        supervisor: this.name,
        cause: cause.message,
      },
    );
    if (this.isRoot) this.modules.logger.fatal({ err: cause, actor: slot.id }, 'Restart intensity exceeded; stopping everything');
    else this.modules.logger.error({ err: cause, actor: slot.id, supervisor: this.name }, 'Restart intensity of a subtree exceeded; its supervisor gives up');
    await this.stopSlots(this.slots);
    if (this.isRoot) {
      this.closeEverything('supervisor escalated');
      try {
        await this.opts.onEscalate?.(error);
      } catch (err) {
        this.modules.logger.error({ err }, 'Escalation hook failed');
      }
    }
    this.rejectDone(error);
  }

  /** Stop children in reverse start order, each within its `shutdownMs` (a subtree: all of its children). */
  private async stopSlots(slots: Slot[]): Promise<void> {
    for (const slot of [...slots].reverse()) {
      if (slot.kind === 'worker') await this.stopChild(slot);
      else await this.stopSubtree(slot);
    }
  }

  private async stopSubtree(slot: SubtreeSlot): Promise<void> {
    const sub = slot.running;
    if (!sub) return;
    slot.running = null;
    await sub.stop();
  }

  private async stopChild(slot: WorkerSlot): Promise<void> {
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
  private retire(slot: WorkerSlot, reason: string): void {
    slot.incarnation = null;
    for (const env of slot.actor.mailbox.close(reason)) this.deadLetter(slot, env, reason);
  }

  /** On stop or escalation of the root: queued messages are dropped (counted and logged once per actor), pending asks fail. */
  private closeEverything(reason: string): void {
    for (const { id, dropped } of this.system.close(reason)) this.modules.logger.info({ actor: id, dropped, reason }, 'Queued messages dropped');
  }

  private contextFor(slot: WorkerSlot, inc: Incarnation) {
    const { logger, registry, pool } = this.modules;
    const id = slot.spec.id;
    const self: ActorRef<Message> = { id };
    const ctx = {
      name: id,
      self,
      incarnation: inc.number,
      signal: inc.controller.signal,
      logger: logger.child({ actor: id }),
      metrics: registry,
      pool,
      askId: undefined as number | undefined,
      replied: false,
      stopRequested: false,
      send: (to: ActorRef<Message>, msg: Message) => this.system.send(to, msg),
      ask: <R>(to: ActorRef<Message>, msg: Message, timeoutMs: number) => this.system.ask<R>(to, msg, timeoutMs),
      reply: (value: unknown) => {
        if (ctx.replied) throw new Error(`${id}: second reply to one ask`);
        if (ctx.askId === undefined) return; // sent, not asked: nobody waits for an answer
        ctx.replied = true;
        this.system.settleAsk(ctx.askId, { value: this.codec.encode(value) });
      },
      replyError: (err: CodedError) => {
        if (ctx.replied) throw new Error(`${id}: second reply to one ask`);
        if (ctx.askId === undefined) return; // sent, not asked: nobody waits for an answer
        ctx.replied = true;
        this.system.settleAsk(ctx.askId, { error: CodedError.fromObject(decode<CodedErrorObject>(encode(err.toObject()))) });
      },
      schedule: (delayMs: number, msg: Message) => {
        const signal = inc.controller.signal;
        const cancel = () => clearTimeout(timer);
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', cancel);
          if (!inc.abandoned) this.system.send(self, msg);
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

/** Registers every actor of a tree once, at the root: ids are addresses, unique across the tree. */
function registerTree(system: ActorSystem, children: TreeSpec[]): void {
  for (const spec of children) {
    if (isSupervisorSpec(spec)) registerTree(system, spec.children);
    else system.register(spec.id, spec.mailboxSize ?? DEFAULT_MAILBOX_SIZE);
  }
}
