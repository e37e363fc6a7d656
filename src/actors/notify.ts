import type { ActorContext, ActorRef } from '../runtime/actor.js';
import type { MempoolWatcherMsg } from './messages.js';

/**
 * Tells this node's MempoolWatcher that `number` is committed here. Best effort: a full watcher
 * mailbox already holds work that will catch up past this block, so a refusal is not an error of
 * the commit that triggered it.
 */
export function notifyCommitted(ctx: ActorContext<never>, watcher: ActorRef<MempoolWatcherMsg> | undefined, number: bigint): void {
  if (!watcher) return;
  try {
    ctx.send(watcher, { type: 'blockCommitted', number });
  } catch (err) {
    ctx.logger.debug({ err, number }, 'MempoolWatcher not told of a committed block; its catch-up covers it');
  }
}
