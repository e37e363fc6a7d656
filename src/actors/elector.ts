import { Elector, type ElectorOptions } from '../adapters/lease/elector.js';
import type { LeaseBackend } from '../adapters/lease/interface.js';
import type { Actor, ActorContext, ActorRef } from '../runtime/actor.js';
import type { StatusReport } from '../types/report.js';
import type { ElectorMsg, HealthMonitorMsg, LeadershipMsg } from './messages.js';

export interface ElectorActorOptions extends Omit<ElectorOptions, 'campaignGate'> {
  /**
   * Start paused: the operator's pause is the node's, not this incarnation's, so the wiring hands
   * a restarted Elector the pause it last set.
   */
  startPaused: boolean;
}

export interface ElectorActorModules {
  backend: LeaseBackend;
  report: StatusReport;
  /** Told of every leadership change: the Builder, a standby's Syncer, the HealthMonitor. */
  listeners: ActorRef<LeadershipMsg>[];
  /** Told of the operator's pause (a paused node's health record says it is not ready). */
  monitor?: ActorRef<HealthMonitorMsg>;
}

interface ElectorState {
  elector: Elector;
  /** The term held now, by the local clock: what a restarted listener is told. */
  term: { epoch: bigint; validUntil: number } | null;
  paused: boolean;
  /**
   * The HealthMonitor's last word: why this node may not campaign (not ready: EL down or behind,
   * database unreachable, unhealthy), or null. Until its first word the node does not campaign.
   */
  notReady: string | null;
}

/**
 * The Elector actor (DESIGN §2.1): runs the lease `Elector` and tells its listeners when
 * leadership is acquired, extended or lost. `lost` is emitted by the local deadline, before the
 * lease can expire on the backend. A restart of this actor releases the lease (the old
 * incarnation's signal aborts), so it is supervised apart from the Builder and Publisher.
 */
export function electorActor(opts: ElectorActorOptions, modules: ElectorActorModules): Actor<ElectorMsg, ElectorState> {
  const { backend, report, listeners } = modules;

  function tell(ctx: ActorContext<ElectorMsg>, msg: LeadershipMsg): void {
    for (const listener of listeners) ctx.send(listener, msg);
  }

  /** Where leadership stands, as one message. */
  function standing(state: ElectorState): LeadershipMsg {
    return state.term ? { type: 'leadershipAcquired', ...state.term } : { type: 'notLeading' };
  }

  /** Why not to campaign now, or null: asked by the lease `Elector` before every acquire attempt. */
  function campaignBlocker(state: ElectorState): string | null {
    const reason = state.paused ? 'paused by an operator (baton_resume resumes)' : state.notReady;
    report.update({ notCampaigning: reason });
    return reason;
  }

  return {
    init(ctx) {
      const { startPaused, ...electorOpts } = opts;
      const elector = new Elector(backend, { ...electorOpts, campaignGate: () => campaignBlocker(state) }, ctx.logger);
      const state: ElectorState = { elector, term: null, paused: startPaused, notReady: 'waiting for the first health probe' };
      void elector.setPaused(state.paused);
      report.update({ paused: state.paused });
      elector.on('acquired', ({ epoch, validUntil }) => {
        state.term = { epoch, validUntil };
        report.update({ isLeader: true, epoch, holder: opts.identity });
        tell(ctx, { type: 'leadershipAcquired', epoch, validUntil });
      });
      elector.on('renewed', ({ epoch, validUntil }) => {
        state.term = { epoch, validUntil };
        tell(ctx, { type: 'leaseExtended', epoch, validUntil });
      });
      elector.on('lost', ({ epoch, reason }) => {
        state.term = null;
        // Said at once: the Builder may be mid-block and learn of the loss only after that block.
        report.update({ isLeader: false, epoch: null, producer: { state: 'following', reason } });
        tell(ctx, { type: 'leadershipLost', epoch, reason });
      });
      elector.start(ctx.signal);
      // A fresh Elector holds nothing: listeners that outlived the last one learn that now.
      tell(ctx, { type: 'notLeading' });
      if (modules.monitor) ctx.send(modules.monitor, { type: 'paused', paused: state.paused });
      return state;
    },
    async handle(msg, state, ctx) {
      switch (msg.type) {
        case 'stepDown':
          if (msg.epoch !== undefined && state.term?.epoch !== msg.epoch) {
            ctx.logger.info({ epoch: msg.epoch, reason: msg.reason }, 'Step-down for a term this node no longer holds; nothing to release');
            ctx.reply(null);
            return state;
          }
          await state.elector.stepDown(msg.reason, msg.holdOffMs);
          ctx.reply(null);
          return state;
        case 'setPaused':
          state.paused = msg.paused;
          report.update({ paused: msg.paused });
          if (modules.monitor) ctx.send(modules.monitor, { type: 'paused', paused: msg.paused });
          await state.elector.setPaused(msg.paused);
          ctx.reply({ paused: msg.paused });
          return state;
        case 'campaignNow':
          state.elector.campaignNow(msg.windowMs);
          ctx.reply(null);
          return state;
        case 'tellLeadership':
          ctx.send(msg.to, standing(state));
          return state;
        case 'leaseDeadline':
          ctx.reply(state.term?.epoch === msg.epoch ? state.term.validUntil : null);
          return state;
        case 'campaignGate':
          // Read by the lease Elector before its next acquire attempt (a hold-off still holds);
          // reported now, so `/health` says at once why this node does not campaign.
          state.notReady = msg.may ? null : msg.reason;
          campaignBlocker(state);
          return state;
      }
    },
    async terminate(state) {
      await state.elector.stop();
    },
  };
}
