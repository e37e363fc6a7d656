/**
 * Runtime bench (`npm run bench:runtime`): actor-to-actor message rate with msgpack envelopes
 * against structuredClone, and pool round-trip latency of a 160 KB buffer transferred against
 * cloned. Both sides of each comparison are measured in this run, on this machine.
 */
import { availableParallelism } from 'node:os';
import pino from 'pino';
import { actorRef, type ChildSpec } from '../src/runtime/actor.js';
import { type MessageCodec, msgpackCodec, structuredCloneCodec } from '../src/runtime/codec.js';
import { createRuntimeModules } from '../src/runtime/index.js';
import { Supervisor } from '../src/runtime/supervisor.js';
import { poolTasks } from '../src/tasks/index.js';
import { percentile, type Row, reportSection } from './stats.js';

const quick = process.argv.includes('--quick');
const MESSAGES = quick ? 50_000 : 500_000;
/** Messages per burst: well under the mailbox bound, so the bench measures delivery, not QUEUE_FULL. */
const BURST = 500;
const POOL_ROUND_TRIPS = quick ? 200 : 2_000;
const PAYLOAD_BYTES = 160 * 1024;

/** A message shaped like the runtime's real traffic: a block summary with a bigint and a hash. */
type BenchMsg = { type: 'burst' } | { type: 'item'; number: bigint; hash: Uint8Array; txCount: number } | { type: 'ack' };

async function messagesPerSecond(codec: MessageCodec): Promise<number> {
  const modules = createRuntimeModules({ logger: pino({ level: 'silent' }), pool: { tasks: poolTasks, inline: true } });
  let finish!: (ms: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  let received = 0;
  let started = 0;
  const hash = new Uint8Array(32).fill(0xab);
  const sourceRef = actorRef<BenchMsg>('source');
  const sinkRef = actorRef<BenchMsg>('sink');
  const source: ChildSpec<BenchMsg, number> = {
    id: 'source',
    restart: 'permanent',
    shutdownMs: 1_000,
    start: () => ({
      init: () => 0,
      handle(msg, sent, ctx) {
        if (msg.type !== 'burst' && msg.type !== 'ack') return sent;
        for (let i = 0; i < BURST; i++) ctx.send(sinkRef, { type: 'item', number: BigInt(sent + i), hash, txCount: 1_400 });
        return sent + BURST;
      },
    }),
  };
  const sink: ChildSpec<BenchMsg, null> = {
    id: 'sink',
    restart: 'permanent',
    shutdownMs: 1_000,
    start: () => ({
      init: () => null,
      handle(msg, state, ctx) {
        if (msg.type !== 'item') return state;
        received++;
        if (received === MESSAGES) finish(performance.now() - started);
        else if (received % BURST === 0) ctx.send(sourceRef, { type: 'ack' });
        return state;
      },
    }),
  };
  const sup = new Supervisor(
    { strategy: 'one_for_one', intensity: { maxRestarts: 1, periodMs: 1_000 }, children: [source, sink] as ChildSpec<any, any>[], codec },
    modules,
  );
  await sup.start();
  started = performance.now();
  sup.send(sourceRef, { type: 'burst' });
  const ms = await finished;
  await sup.stop();
  await modules.pool.destroy();
  return MESSAGES / (ms / 1000);
}

async function poolRoundTrips(transfer: boolean): Promise<number[]> {
  const modules = createRuntimeModules({ logger: pino({ level: 'silent' }), pool: { tasks: poolTasks, threads: 1 } });
  const latencies: number[] = [];
  for (let i = 0; i < POOL_ROUND_TRIPS + 20; i++) {
    const bytes = new Uint8Array(PAYLOAD_BYTES).fill(i & 0xff);
    const started = performance.now();
    await modules.pool.run('keccak256', bytes, transfer ? [bytes.buffer] : []);
    if (i >= 20) latencies.push(performance.now() - started); // the first runs warm the worker up
  }
  await modules.pool.destroy();
  return latencies.sort((a, b) => a - b);
}

console.log(
  `runtime bench: ${MESSAGES} messages, ${POOL_ROUND_TRIPS} pool round trips, Node ${process.version}, ${availableParallelism()} cores${quick ? ' (quick)' : ''}`,
);
console.log('measuring actor messages with structuredClone (baseline)…');
const clonedRate = await messagesPerSecond(structuredCloneCodec);
console.log('measuring actor messages with msgpack envelopes…');
const msgpackRate = await messagesPerSecond(msgpackCodec);
console.log('measuring pool round trips, 160 KB cloned (baseline)…');
const cloned = await poolRoundTrips(false);
console.log('measuring pool round trips, 160 KB transferred…');
const transferred = await poolRoundTrips(true);

const rows: Row[] = [
  { figure: 'actor→actor messages, msgpack envelopes', value: msgpackRate, unit: 'msg/s', baseline: clonedRate },
  {
    figure: 'pool round trip p50, 160 KB transferred',
    value: percentile(transferred, 50),
    unit: 'ms',
    baseline: percentile(cloned, 50),
    higherIsBetter: false,
  },
  {
    figure: 'pool round trip p99, 160 KB transferred',
    value: percentile(transferred, 99),
    unit: 'ms',
    baseline: percentile(cloned, 99),
    higherIsBetter: false,
  },
];
reportSection('Runtime (baseline: structuredClone messages; cloned pool buffers)', rows);
