import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Buckets for in-process latencies: mailbox waits and handler times span 10 µs to 10 s. */
const LATENCY_BUCKETS = [0.00001, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/** The runtime's Prometheus metrics, registered on an injected registry (never the global one). */
export function createRuntimeMetrics(registry: Registry) {
  const registers = [registry];
  return {
    mailboxLength: new Gauge({ name: 'baton_actor_mailbox_length', help: 'Messages waiting in an actor mailbox', labelNames: ['actor'], registers }),
    mailboxWaitSeconds: new Histogram({
      name: 'baton_actor_mailbox_wait_seconds',
      help: 'Time a message waited in a mailbox before handling',
      labelNames: ['actor'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    handleSeconds: new Histogram({
      name: 'baton_actor_handle_seconds',
      help: 'Time an actor spent handling one message',
      labelNames: ['actor'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    restarts: new Counter({ name: 'baton_actor_restarts_total', help: 'Actor restarts by the supervisor', labelNames: ['actor'], registers }),
    deadLetters: new Counter({
      name: 'baton_actor_dead_letters_total',
      help: 'Messages dropped after crashing their actor twice, or left in a stopped mailbox',
      labelNames: ['actor'],
      registers,
    }),
    poolQueueSize: new Gauge({ name: 'baton_pool_queue_size', help: 'Tasks waiting for a pool worker', registers }),
    poolTaskSeconds: new Histogram({
      name: 'baton_pool_task_seconds',
      help: 'Pool task round trip, submit to result',
      labelNames: ['task'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
  };
}

export type RuntimeMetrics = ReturnType<typeof createRuntimeMetrics>;
