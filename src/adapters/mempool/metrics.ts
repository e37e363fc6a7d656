import { Counter, Gauge, type Registry } from 'prom-client';
import type { Mempool } from './interface.js';

/** What an `eth_sendRawTransaction` came to: the ingest dashboard's breakdown. */
export type SubmissionResult = 'added' | 'duplicate' | 'rejected' | 'full' | 'senderFull';

/**
 * The mempool's Prometheus metrics, registered on an injected registry. Set sizes are read from
 * Redis at scrape time, so every node reports the shared pool without polling it.
 */
export function createMempoolMetrics(registry: Registry, mempool: Pick<Mempool, 'sizes'>) {
  const registers = [registry];
  new Gauge({
    name: 'baton_mempool_transactions',
    help: 'Transactions in the shared mempool by state (finalized and dropped are bounded histories)',
    labelNames: ['state'],
    registers,
    async collect() {
      try {
        for (const [state, n] of Object.entries(await mempool.sizes())) this.set({ state }, n);
      } catch {
        // Redis unreachable: keep the last values rather than fail the whole scrape.
      }
    },
  });
  const submissions = new Counter({
    name: 'baton_mempool_submissions_total',
    help: 'eth_sendRawTransaction calls on this node by result',
    labelNames: ['result'],
    registers,
  });
  const blocksConfirmed = new Counter({ name: 'baton_mempool_blocks_confirmed_total', help: 'Blocks this node confirmed as the watcher', registers });
  const lastConfirmed = new Gauge({ name: 'baton_mempool_last_confirmed_block', help: 'Last block this node confirmed as the watcher', registers });
  const finalized = new Counter({ name: 'baton_mempool_finalized_total', help: 'Transactions this node moved to finalized', registers });
  const requeued = new Counter({
    name: 'baton_mempool_requeued_total',
    help: 'Inflight transactions sent back to pending after too many blocks without them',
    registers,
  });
  const dropped = new Counter({
    name: 'baton_mempool_dropped_total',
    help: 'Transactions this node dropped as the watcher: never includable (nonce used, fee below the base fee, EL refusal) or expired while queued',
    registers,
  });
  const queued = new Counter({ name: 'baton_mempool_queued_total', help: 'Transactions this node queued behind a nonce gap as the watcher', registers });
  const isWatcher = new Gauge({ name: 'baton_mempool_is_watcher', help: '1 while this node holds the mempool watcher lock', registers });
  return {
    submitted: (result: SubmissionResult) => submissions.inc({ result }),
    blockConfirmed(number: bigint, finalizedCount: number, requeuedCount: number) {
      blocksConfirmed.inc();
      lastConfirmed.set(Number(number));
      finalized.inc(finalizedCount);
      requeued.inc(requeuedCount);
    },
    dropped: (count = 1) => dropped.inc(count),
    queued: () => queued.inc(),
    watcher: (holds: boolean) => isWatcher.set(holds ? 1 : 0),
  };
}

export type MempoolMetrics = ReturnType<typeof createMempoolMetrics>;
