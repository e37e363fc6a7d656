import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CodedError } from './errors.js';
import type { Pool } from './pool.js';

/** Every message is a discriminated union member on `type`; handlers `switch` on it exhaustively. */
export interface Message {
  readonly type: string;
}

/** What a handler can do besides returning its next state (DESIGN §1). */
export interface ActorContext<M extends Message = Message> {
  readonly name: string;
  /** Fires when this incarnation stops: supervisor shutdown, a restart, or its deadline passing. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly pool: Pool;
  /** Fire-and-forget; the message is encoded now, so later mutation of `msg` cannot reach `to`. Throws `QUEUE_FULL`. */
  send<T extends Message>(to: string, msg: T): void;
  /** Request/reply with a deadline; rejects with `ASK_TIMEOUT`, `DEAD_LETTER`, `ACTOR_STOPPED` or the replier's coded error. */
  ask<R, T extends Message = Message>(to: string, msg: T, timeoutMs: number): Promise<R>;
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

export interface ChildSpec<M extends Message = Message, S = unknown> {
  /** Unique name; also the address other actors `send` to. */
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
