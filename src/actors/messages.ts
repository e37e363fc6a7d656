/**
 * Every actor's messages, in one place: what each actor can be told, by whom, and why. Each
 * union is discriminated on `type`; an actor's `handle` switches on it exhaustively. Actors
 * reach each other through typed `ActorRef`s of these unions (built once in `node/tree.ts`), so
 * a `ctx.send(modules.publisher, …)` leads here, and from here to `publisher.ts`.
 */
import type { ActorRef } from '../runtime/actor.js';
import type { EncodedBlock, SyncBlock } from '../types/block.js';
import type { LeaderInfo } from '../types/leader.js';

/**
 * From the Elector to whoever acts on leadership (the Builder, a standby's Syncer): sent on every
 * change, and to a restarted listener that asks with `tellLeadership`.
 */
export type LeadershipMsg =
  /** This node holds the lease for `epoch` until `validUntil` (`performance.now()`): build, carrying the epoch as the fencing token. */
  | { type: 'leadershipAcquired'; epoch: bigint; validUntil: number }
  /** Renewed: the same term, a later deadline. */
  | { type: 'leaseExtended'; epoch: bigint; validUntil: number }
  /** The term ended (released, lost, or its local deadline passed before a renewal). */
  | { type: 'leadershipLost'; epoch: bigint; reason: string }
  /** The answer to `tellLeadership` when this node does not lead. */
  | { type: 'notLeading' };

export type ElectorMsg =
  /**
   * Release and hold off: the Builder saw a higher epoch in the fence (someone else leads), the
   * HealthMonitor judged this leader unhealthy, or an operator transfers leadership. With `epoch`,
   * only that term is stepped down from: a Builder fenced out of a term this node already gave up
   * (a transfer that landed during its last commit) must not hold off the node's next campaign.
   */
  | { type: 'stepDown'; reason: string; holdOffMs?: number; epoch?: bigint }
  /** Operator pause/resume: a paused node neither campaigns nor builds. */
  | { type: 'setPaused'; paused: boolean }
  /** This node is the target of a leadership transfer: race for the lease the leader is releasing. */
  | { type: 'campaignNow'; windowMs: number }
  /** A listener (re)started and asks where leadership stands: answered with a `LeadershipMsg` to `to`. */
  | { type: 'tellLeadership'; to: ActorRef<LeadershipMsg> }
  /**
   * Asked by the Publisher when the deadline a `commit` carries has passed: the local lease deadline
   * of `epoch` now (`performance.now()` time; a renewal during the build is in it), or null when
   * this node no longer holds that term.
   */
  | { type: 'leaseDeadline'; epoch: bigint }
  /**
   * From the HealthMonitor, every probe: whether this node may campaign. A node that is not ready
   * (EL down or behind the committed head, database unreachable, unhealthy) does not, so the lease
   * never goes to a node that could not build.
   */
  | { type: 'campaignGate'; may: boolean; reason: string | null };

export type BuilderMsg =
  | LeadershipMsg
  /** The slot clock; carries the epoch so a tick scheduled in an earlier term is ignored. */
  | { type: 'tick'; epoch: bigint };

export type PublisherMsg =
  /** Ask: validate, commit with the fence, then publish. Replies `{number}` or a coded error. */
  | {
      type: 'commit';
      block: EncodedBlock;
      epoch: bigint;
      validUntil: number /** forkchoiceUpdated → getPayload answered, and the pool's encode after it: stage timings. */;
      buildMs: number;
      encodeMs: number;
    }
  /** A new term: re-publish committed blocks a predecessor may have died before appending. */
  | { type: 'repairStream'; epoch: bigint }
  /**
   * This node's term ended: what it failed to publish is now the next leader's to repair (its
   * `repairStream`), so those failures stop making this node unhealthy.
   */
  | { type: 'termEnded'; epoch: bigint };

export type ExecutorMsg =
  /** Ask: the position to sync from (`lastSynced + 1`). */
  | { type: 'position' }
  /** Ask: verify, execute and store one block; replies with the new position or a coded error (see `ExecutorErrorCode`). */
  | { type: 'execute'; block: SyncBlock };

export type SyncerMsg =
  | LeadershipMsg
  /**
   * Discover the leader, keep the source open, hand queued blocks to the Executor: the tick loop of
   * incarnation `loop`; `seq` names the one tick that loop is waiting for (any other is stale).
   */
  | { type: 'tick'; loop: number; seq: number }
  /** From the HealthMonitor: who holds the lease and where its API is, as the lease backend last said. */
  | { type: 'leader'; leader: LeaderInfo | null };

export type MempoolWatcherMsg =
  /** A block was committed (by the Publisher on the leader) or executed (by a member's or standby's Executor): confirm up to it. */
  | { type: 'blockCommitted'; number: bigint }
  /** Confirm every committed block after the last confirmed one; sent to itself on gaining the lock, and by the fallback poll. */
  | { type: 'catchUp' };

export type HealthMonitorMsg =
  /** From the Elector: this node's term, which the monitor judges (a leader must keep committing). */
  | LeadershipMsg
  /** The probe clock (of the incarnation `loop`): ask the lease backend who leads, the EL where its head is, the database its committed head. */
  | { type: 'probe'; loop: number }
  /** From the Publisher: a block committed by this node. */
  | { type: 'committed'; number: bigint }
  /** From the Builder: a slot failed; `engine` when it was the EL that failed (unreachable, timed out, refused). */
  | { type: 'productionFailed'; reason: string; engine: boolean }
  /** From the Elector: the operator's pause, which a health record shows (a paused node is not ready). */
  | { type: 'paused'; paused: boolean };
