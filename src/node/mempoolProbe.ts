import type { Logger } from 'pino';
import type { Mempool } from '../adapters/mempool/interface.js';
import type { StatusBoard } from './status.js';

/** How often `/health`'s mempool counts are re-read from Redis: the status page polls once a second. */
export const MEMPOOL_PROBE_INTERVAL_MS = 1_000;

/**
 * Keeps `status.mempool` at the shared mempool's last known sizes, so `/health` answers at once
 * and never waits on Redis. A failed read keeps the previous values (logged at debug); a read
 * still running when the next is due is not doubled up. Resolves after the first read (at most
 * one interval), so a node with Redis never reports `mempool: null` once it serves `/health`.
 */
export async function startMempoolProbe(mempool: Pick<Mempool, 'sizes'>, status: StatusBoard, logger: Logger, intervalMs = MEMPOOL_PROBE_INTERVAL_MS): Promise<AbortController> {
  const controller = new AbortController();
  let reading: Promise<void> | null = null;
  const round = () =>
    (reading ??= mempool
      .sizes()
      .then((sizes) => {
        if (!controller.signal.aborted) status.update({ mempool: sizes });
      })
      .catch((err) => logger.debug({ err }, 'Mempool size probe failed'))
      .finally(() => {
        reading = null;
      }));
  const timer = setInterval(() => void round(), intervalMs);
  controller.signal.addEventListener('abort', () => clearInterval(timer));
  await Promise.race([round(), new Promise((resolve) => setTimeout(resolve, intervalMs).unref())]);
  return controller;
}
