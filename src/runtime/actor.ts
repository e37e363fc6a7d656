import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CodedError } from './errors.js';
import type { Pool } from './pool.js';

/** Every message is a discriminated union member on `type`; handlers `switch` on it exhaustively. */
export interface Message {
  readonly type: string;
}

/**
 * A typed address: `send(ref, msg)` takes only that actor's messages, so a reader can jump from a
 * send to the message union and from there to its handler. Plain data (an id), so it can travel
 * inside messages.
 */
export interface ActorRef<M extends Message> {
  readonly id: string;
  /**
   * Never set: carries the message type for the compiler only. A function of `M`, so a ref of an
   * actor that takes more messages (a Builder) may be passed where fewer are sent (leadership news).
   */
  readonly __accepts?: (msg: M) => void;
}

/** The address of the actor named `id` (its child spec's id). */
export function actorRef<M extends Message>(id: string): ActorRef<M> {
  return { id };
}

/** What a handler can do besides returning its next state (DESIGN §1). */
export interface ActorContext<M extends Message = Message> {
  readonly name: string;
  /** This actor's own address, for messages to itself and for others to answer to. */
  readonly self: ActorRef<M>;
  /**
   * Unique to this incarnation. A timer loop's messages to itself carry it, so the message that
   * crashed the last incarnation (which the next one is handed again) does not start a second loop.
   */
  readonly incarnation: number;
  /** Fires when this incarnation stops: supervisor shutdown, a restart, or its deadline passing. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly pool: Pool;
  /** Fire-and-forget; the message is encoded now, so later mutation of `msg` cannot reach `to`. Throws `QUEUE_FULL`. */
  send<T extends Message>(to: ActorRef<T>, msg: T): void;
  /** Request/reply with a deadline; rejects with `ASK_TIMEOUT`, `DEAD_LETTER`, `ACTOR_STOPPED` or the replier's coded error. */
  ask<R, T extends Message = Message>(to: ActorRef<T>, msg: T, timeoutMs: number): Promise<R>;
  /** Answer the `ask` being handled (a no-op for a message that was sent, not asked). Replies are msgpack copies too. */
  reply(value: unknown): void;
  /** Answer the `ask` being handled with a typed error: invalid input is a reply, not a crash. */
  replyError(err: CodedError): void;
  /** Deliver `msg` to this actor after `delayMs`, unless this incarnation stops first. */
  schedule(delayMs: number, msg: M): void;
  /** End this actor normally after the current message (a `transient` child then stays down). */
  stop(): void;
}

/**
 * An actor: `init` builds its state, `handle` processes one message at a time and returns the next
 * state. Throwing, rejecting or exceeding the deadline is a crash; the supervisor restarts it
 * with fresh state from `init`, and its mailbox (kept by the supervisor) survives.
 */
export interface Actor<M extends Message, S> {
  init(ctx: ActorContext<M>): S | Promise<S>;
  handle(msg: M, state: S, ctx: ActorContext<M>): S | Promise<S>;
  /** Cleanup on a normal stop or before a restart (best effort; not called after a hang). */
  terminate?(state: S, ctx: ActorContext<M>): void | Promise<void>;
}

/** OTP restart types: always, only after a crash, never. */
export type RestartType = 'permanent' | 'transient' | 'temporary';

/** A worker child: one actor. */
export interface ChildSpec<M extends Message = Message, S = unknown> {
  /** Unique in the whole tree; also the address (`actorRef(id)`) other actors `send` to. */
  id: string;
  /** Builds a fresh actor for each (re)start. */
  start: () => Actor<M, S>;
  restart: RestartType;
  /** How long a stopping handler may take before its message is requeued and the actor abandoned. */
  shutdownMs: number;
  /** A handler (or `init`) running longer than this is hung: a crash. */
  handlerTimeoutMs?: number;
  /** Mailbox bound; senders get `QUEUE_FULL` past it. */
  mailboxSize?: number;
}

/**
 * A supervisor child (OTP's nested supervisor): its children restart together by its own
 * strategy, and past its own intensity it stops them and exits, which its parent handles as a
 * crash of this child. Group what must restart together, so one crash never takes down what does
 * not depend on it.
 */
export interface SupervisorSpec {
  kind: 'supervisor';
  id: string;
  strategy: RestartStrategy;
  /** More than `maxRestarts` restarts within `periodMs` gives up (escalates to the parent, or stops the node at the root). */
  intensity: { maxRestarts: number; periodMs: number };
  children: TreeSpec[];
}

/** OTP restart strategies: which siblings restart with a crashed child. */
export type RestartStrategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';

/** A node of a supervision tree. */
// biome-ignore lint/suspicious/noExplicitAny: children of one supervisor each have their own message and state types
export type TreeSpec = ChildSpec<any, any> | SupervisorSpec;

export function isSupervisorSpec(spec: TreeSpec): spec is SupervisorSpec {
  return (spec as SupervisorSpec).kind === 'supervisor';
}
