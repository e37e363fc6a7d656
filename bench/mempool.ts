/**
 * Mempool ingest bench (`npx tsx bench/mempool.ts [--quick]`): signed transfers accepted per second
 * through `POST /rpc` `eth_sendRawTransaction` — the node's JSON-RPC route, decode and sender
 * recovery, the Lua add into the shared Redis mempool — and the supervisor thread's event-loop delay
 * while it runs. Baton runs decode and recovery on the worker pool; the baseline, measured in the
 * same run on the same transactions, runs them on the main thread (the pool inline). The load comes
 * from a worker thread (its own event loop), 64 requests in flight, keep-alive.
 */
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { DEV_CHAIN_ID } from '../src/adapters/executionClient/genesis.js';
import { signTransfer, testAccounts } from '../src/adapters/executionClient/testAccounts.js';
import { HttpServer } from '../src/adapters/http/index.js';
import { registerJsonRpc } from '../src/adapters/http/jsonRpc.js';
import { createMempool } from '../src/adapters/mempool/index.js';
import { createRuntimeModules } from '../src/runtime/index.js';
import { poolTasks } from '../src/tasks/index.js';
import { type Row, reportSection } from './stats.js';

const quick = process.argv.includes('--quick');
const TX_COUNT = quick ? 2_000 : 20_000;
const IN_FLIGHT = 64;
const REDIS_URL = process.env.BATON_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Sends every body to `url` with `inFlight` requests at a time; posts back the elapsed ms and failures. */
const LOAD_GENERATOR = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, bodies, inFlight } = workerData;
(async () => {
  let next = 0, failures = 0;
  const started = performance.now();
  async function lane() {
    while (next < bodies.length) {
      const body = bodies[next++];
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const answer = await res.json();
      if (!answer.result) failures++;
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane));
  parentPort.postMessage({ elapsedMs: performance.now() - started, failures });
})();
`;

interface IngestRun {
  txPerSecond: number;
  loopP50Ms: number;
  loopP99Ms: number;
}

/** One ingest run against a fresh key prefix, the pool on worker threads or inline. */
async function ingest(bodies: string[], inline: boolean): Promise<IngestRun> {
  const logger = pino({ level: 'silent' });
  const { pool } = createRuntimeModules({ logger, pool: { tasks: poolTasks, inline } });
  const redis = new Redis(REDIS_URL);
  const prefix = `baton-bench-mempool-${process.pid}-${inline ? 'inline' : 'pool'}`;
  const mempool = createMempool({ prefix, maxPending: TX_COUNT * 2 }, { redis, logger, registry: new Registry(), pool, chainId: BigInt(DEV_CHAIN_ID) });
  const server = new HttpServer({ host: '127.0.0.1', port: 0, name: 'api' }, { logger });
  registerJsonRpc(server, { path: '/rpc' }, mempool.rpc, (err) => {
    throw err;
  });
  const port = await server.listen();
  // No separate warm-up: JIT, pool start-up and Redis script loading count in both runs alike.
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const worker = new Worker(LOAD_GENERATOR, { eval: true, workerData: { url: `http://127.0.0.1:${port}/rpc`, bodies, inFlight: IN_FLIGHT } });
  const { elapsedMs, failures } = await new Promise<{ elapsedMs: number; failures: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  loop.disable();
  await worker.terminate();
  if (failures > 0) throw new Error(`bench input broken: ${failures} transactions refused (${inline ? 'inline' : 'pool'})`);
  const accepted = await redis.zcard(`${prefix}:mempool:pending`);
  if (accepted !== bodies.length) throw new Error(`bench input broken: ${accepted} of ${bodies.length} pending after the run`);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  server.close();
  await pool.destroy();
  return { txPerSecond: (bodies.length / elapsedMs) * 1000, loopP50Ms: loop.percentile(50) / 1e6, loopP99Ms: loop.percentile(99) / 1e6 };
}

console.log(
  `mempool bench: ${TX_COUNT.toLocaleString('en-US')} signed transfers, ${IN_FLIGHT} in flight, Node ${process.version}, ${availableParallelism()} cores${quick ? ' (quick)' : ''}`,
);
console.log('signing the transactions (before any measurement)…');
const accounts = testAccounts();
const bodies = Array.from({ length: TX_COUNT }, (_, i) => {
  const k = i % accounts.length;
  const tx = signTransfer({
    from: accounts[k]!,
    to: accounts[(k + 1) % accounts.length]!.address,
    valueWei: 1n,
    nonce: BigInt(Math.floor(i / accounts.length)),
    chainId: BigInt(DEV_CHAIN_ID),
  });
  return JSON.stringify({ jsonrpc: '2.0', id: i, method: 'eth_sendRawTransaction', params: [tx.raw] });
});
console.log('ingesting with recovery on the main thread (baseline)…');
const inline = await ingest(bodies, true);
console.log('ingesting with recovery on the pool…');
const pooled = await ingest(bodies, false);

const rows: Row[] = [
  { figure: 'transactions accepted through /rpc', value: pooled.txPerSecond, unit: 'tx/s', baseline: inline.txPerSecond, higherIsBetter: true },
  { figure: 'supervisor event-loop delay during ingest p50', value: pooled.loopP50Ms, unit: 'ms', baseline: inline.loopP50Ms, higherIsBetter: false },
  { figure: 'supervisor event-loop delay during ingest p99', value: pooled.loopP99Ms, unit: 'ms', baseline: inline.loopP99Ms, higherIsBetter: false },
];
reportSection('Mempool ingest (baseline: decode and sender recovery on the main thread)', rows);
