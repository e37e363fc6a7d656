import type { LeaseBackend } from '../../adapters/lease/interface.js';
import type { Actor } from '../../runtime/actor.js';
import type { StatusBoard } from '../../node/status.js';
import type { BuilderMsg } from '../builder.js';
import { Elector, type ElectorOptions } from './elector.js';

export type ElectorMsg =
  /** The Builder saw a higher epoch in the fence: someone else leads; release and hold off. */
  | { type: 'stepDown'; reason: string; holdOffMs?: number }
  /** Operator pause/resume: a paused node neither campaigns nor builds. */
  | { type: 'setPaused'; paused: boolean }
  /** This node is the target of a leadership transfer: race for the lease the leader is releasing. */
  | { type: 'campaignNow'; windowMs: number };

export interface ElectorActorModules {
  backend: LeaseBackend;
  status: StatusBoard;
  /** Where leadership changes go. */
  builderId: string;
}

/**
 * The Elector actor (DESIGN §2.1): runs the lease `Elector` and tells the Builder when leadership is
 * acquired, extended or lost. `lost` is emitted by the local deadline, before the lease can expire
 * on the backend. A restart of this actor releases the lease (the old incarnation's signal aborts).
 */
export function electorActor(opts: ElectorOptions, modules: ElectorActorModules): Actor<ElectorMsg, { elector: Elector }> {
  const { backend, status, builderId } = modules;
  return {
    init(ctx) {
      const elector = new Elector(backend, opts, ctx.logger);
      // The pause is the node's, not this incarnation's: a restarted Elector stays paused.
      void elector.setPaused(status.current.paused);
      const tell = (msg: BuilderMsg) => ctx.send(builderId, msg);
      elector.on('acquired', ({ epoch, validUntil }) => {
        status.update({ isLeader: true, epoch, holder: opts.identity });
        tell({ type: 'leadershipAcquired', epoch, validUntil });
      });
      elector.on('renewed', ({ epoch, validUntil }) => tell({ type: 'leaseExtended', epoch, validUntil }));
      elector.on('lost', ({ epoch, reason }) => {
        // Said at once: the Builder may be mid-block and learn of the loss only after that block.
        status.update({ isLeader: false, producer: { state: 'following', reason } });
        tell({ type: 'leadershipLost', epoch, reason });
      });
      elector.start(ctx.signal);
      return { elector };
    },
    async handle(msg, state, ctx) {
      switch (msg.type) {
        case 'stepDown':
          await state.elector.stepDown(msg.reason, msg.holdOffMs);
          ctx.reply(null);
          return state;
        case 'setPaused':
          status.update({ paused: msg.paused });
          await state.elector.setPaused(msg.paused);
          ctx.reply({ paused: msg.paused });
          return state;
        case 'campaignNow':
          state.elector.campaignNow(msg.windowMs);
          ctx.reply(null);
          return state;
      }
    },
    async terminate(state) {
      await state.elector.stop();
    },
  };
}
