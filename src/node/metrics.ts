import { Counter, collectDefaultMetrics, Gauge, Histogram, type Registry } from 'prom-client';
import type { PublisherMetrics } from '../actors/publisher.js';
import type { StatusGauges } from './status.js';

/** Commit and publish latencies: PostgreSQL commits take ~1–50 ms; anything past 1 s is an incident. */
const COMMIT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The node's own Prometheus metrics (the runtime registers its actor and pool metrics beside them). */
export function createNodeMetrics(registry: Registry) {
  const registers = [registry];
  const commitSeconds = new Histogram({
    name: 'baton_block_commit_seconds',
    help: 'PostgreSQL commit of one block, fence included',
    buckets: COMMIT_BUCKETS,
    registers,
  });
  const publishSeconds = new Histogram({
    name: 'baton_block_publish_seconds',
    help: 'From commit to the block handed to every sink (forkchoice, Redis Stream, feed)',
    buckets: COMMIT_BUCKETS,
    registers,
  });
  const stageSeconds = new Histogram({
    name: 'baton_block_stage_seconds',
    help: 'One stage of one leader block: build (forkchoiceUpdated to getPayload), encode (pool), newPayload, commit (fenced), forkchoice, sink:<name>',
    labelNames: ['stage'],
    buckets: COMMIT_BUCKETS,
    registers,
  });
  const blocksCommitted = new Counter({ name: 'baton_blocks_committed_total', help: 'Blocks this node committed as leader', registers });
  const headNumber = new Gauge({ name: 'baton_head_block_number', help: 'Committed head as this node last saw it', registers });
  const isLeader = new Gauge({ name: 'baton_is_leader', help: '1 while this node holds the lease', registers });
  const epoch = new Gauge({ name: 'baton_leader_epoch', help: 'Fencing epoch of the current term held by this node (0 when not leader)', registers });
  const lastSynced = new Gauge({ name: 'baton_sync_last_synced_block', help: 'Last block the Syncer/Executor executed (members and standbys)', registers });
  const syncLag = new Gauge({ name: 'baton_sync_lag_blocks', help: 'Blocks this node is behind what its sync source announced', registers });
  const failovers = new Counter({
    name: 'baton_failovers_total',
    help: 'Times this node stepped down as leader because its HealthMonitor judged it unhealthy and a ready standby existed, by reason',
    labelNames: ['reason'],
    registers,
  });
  const elRestarts = new Counter({
    name: 'baton_el_restarts_total',
    help: 'Restarts of the embedded execution client after it exited unexpectedly',
    registers,
  });
  // process_* and nodejs_* (RSS, heap, event-loop lag, GC): the memory budget of DESIGN §9 is watched here.
  collectDefaultMetrics({ register: registry });
  const publisher: PublisherMetrics = {
    observeCommit: (s) => commitSeconds.observe(s),
    observePublish: (s) => publishSeconds.observe(s),
    observeStage: (stage, s) => stageSeconds.observe({ stage }, s),
    blockCommitted: (n) => {
      blocksCommitted.inc();
      headNumber.set(Number(n));
    },
  };
  const gauges: StatusGauges = { isLeader, epoch, headNumber, lastSynced, syncLag };
  return { publisher, gauges, elRestarts, failovers };
}

export type NodeMetrics = ReturnType<typeof createNodeMetrics>;
