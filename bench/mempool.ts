/**
 * Mempool ingest bench (`npx tsx bench/mempool.ts [--quick]`): signed transfers accepted per second
 * through `POST /rpc` `eth_sendRawTransaction` — the node's JSON-RPC route, decode and sender
 * recovery, the Lua add into the shared Redis mempool — and the supervisor thread's event-loop delay
 * while it runs. Baton runs decode and recovery on the worker pool; the baseline, measured in the
 * same run on the same transactions, runs them on the main thread (the pool inline). The load comes
 * from a worker thread (its own event loop), 64 requests in flight, keep-alive. Then the same
 * transactions as JSON-RPC batches of `BATCH_SIZE` (as Ethereum clients send them), pool only.
 *
 * Before that, where one transaction's time goes, each stage alone at the same concurrency: the
 * HTTP route with JSON parse and reply but a handler that does nothing; a pool round trip of a
 * no-op-sized task; decode without and with sender recovery on this thread; recovery alone; the
 * Redis add script. Printed as µs per transaction (1 / throughput), not as a ratio.
 */
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { createCustomCommon, Hardfork, Mainnet } from '@ethereumjs/common';
import { createTxFromRLP } from '@ethereumjs/tx';
import { bigIntToBytes, hexToBytes } from '@ethereumjs/util';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { DEV_CHAIN_ID } from '../src/adapters/executionClient/genesis.js';
import { signTransfer, testAccounts } from '../src/adapters/executionClient/testAccounts.js';
import { HttpServer } from '../src/adapters/http/index.js';
import { registerJsonRpc } from '../src/adapters/http/jsonRpc.js';
import { createMempool, RedisMempool } from '../src/adapters/mempool/index.js';
import { createRuntimeModules } from '../src/runtime/index.js';
import { decodeTransaction } from '../src/tasks/decodeTransaction.js';
import { poolTasks } from '../src/tasks/index.js';
import { ecrecover, senderRecovery } from '../src/tasks/secp256k1.js';
import { type Row, reportSection } from './stats.js';

const quick = process.argv.includes('--quick');
const TX_COUNT = quick ? 2_000 : 20_000;
const IN_FLIGHT = 64;
/** Transactions per JSON-RPC batch request in the batch run. */
const BATCH_SIZE = 100;
/** Batch requests in flight: 4 × 100 transactions, so no request waits out uWebSockets.js's 10 s idle timeout on a loaded machine. */
const BATCHES_IN_FLIGHT = 4;
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
      for (const one of Array.isArray(answer) ? answer : [answer]) if (!one.result) failures++;
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

/**
 * One ingest run against a fresh key prefix, the pool on worker threads or inline; `bodies` are
 * single requests or batches (`txCount` transactions in all). With `noopHandler` the route answers
 * every call with a fixed hash and touches neither the pool nor Redis: the HTTP and JSON cost alone.
 */
async function ingest(bodies: string[], txCount: number, inline: boolean, noopHandler = false, inFlight = IN_FLIGHT): Promise<IngestRun> {
  const logger = pino({ level: 'silent' });
  const { pool } = createRuntimeModules({ logger, pool: { tasks: poolTasks, inline } });
  const redis = new Redis(REDIS_URL);
  const prefix = `baton-bench-mempool-${process.pid}-${inline ? 'inline' : 'pool'}`;
  const mempool = createMempool({ prefix, maxPending: TX_COUNT * 2 }, { redis, logger, registry: new Registry(), pool, chainId: BigInt(DEV_CHAIN_ID) });
  const server = new HttpServer({ host: '127.0.0.1', port: 0, name: 'api' }, { logger });
  const FIXED_HASH = `0x${'ab'.repeat(32)}`;
  const methods = noopHandler ? { eth_sendRawTransaction: { handler: async () => FIXED_HASH } } : mempool.rpc;
  registerJsonRpc(server, { path: '/rpc' }, methods, (err) => {
    throw err;
  });
  const port = await server.listen();
  // No separate warm-up: JIT, pool start-up and Redis script loading count in both runs alike.
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const worker = new Worker(LOAD_GENERATOR, { eval: true, workerData: { url: `http://127.0.0.1:${port}/rpc`, bodies, inFlight } });
  const { elapsedMs, failures } = await new Promise<{ elapsedMs: number; failures: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  loop.disable();
  await worker.terminate();
  if (failures > 0) throw new Error(`bench input broken: ${failures} transactions refused (${inline ? 'inline' : 'pool'})`);
  const accepted = await redis.zcard(`${prefix}:mempool:pending`);
  if (accepted !== (noopHandler ? 0 : txCount)) throw new Error(`bench input broken: ${accepted} of ${txCount} pending after the run`);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  server.close();
  await pool.destroy();
  return { txPerSecond: (txCount / elapsedMs) * 1000, loopP50Ms: loop.percentile(50) / 1e6, loopP99Ms: loop.percentile(99) / 1e6 };
}

console.log(
  `mempool bench: ${TX_COUNT.toLocaleString('en-US')} signed transfers, ${IN_FLIGHT} in flight, Node ${process.version}, ${availableParallelism()} cores${quick ? ' (quick)' : ''}`,
);
console.log('signing the transactions (before any measurement)…');
const accounts = testAccounts();
const requests = Array.from({ length: TX_COUNT }, (_, i) => {
  const k = i % accounts.length;
  const tx = signTransfer({
    from: accounts[k]!,
    to: accounts[(k + 1) % accounts.length]!.address,
    valueWei: 1n,
    nonce: BigInt(Math.floor(i / accounts.length)),
    chainId: BigInt(DEV_CHAIN_ID),
  });
  return { jsonrpc: '2.0', id: i, method: 'eth_sendRawTransaction', params: [tx.raw] };
});
const singleBodies = requests.map((r) => JSON.stringify(r));
const batchBodies = Array.from({ length: Math.ceil(TX_COUNT / BATCH_SIZE) }, (_, b) => JSON.stringify(requests.slice(b * BATCH_SIZE, (b + 1) * BATCH_SIZE)));
const raws = requests.map((r) => hexToBytes(r.params[0] as `0x${string}`));

/** Runs `one(i)` for every i below `count`, `inFlight` at a time; microseconds per item (1 / throughput). */
async function microsPerItem(count: number, inFlight: number, one: (i: number) => Promise<unknown> | unknown): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await one(next++);
    }),
  );
  return ((performance.now() - started) * 1000) / count;
}

/** Each stage of one transaction's path alone, µs per transaction at the ingest's concurrency. */
async function stageProfile(): Promise<Row[]> {
  const logger = pino({ level: 'silent' });
  const chainId = BigInt(DEV_CHAIN_ID);
  const http = await ingest(singleBodies, TX_COUNT, false, true);
  const decodeWithRecovery = await microsPerItem(TX_COUNT, 1, (i) => decodeTransaction({ raw: raws[i]!, chainId }));
  const recoveryArgs = raws.map((raw) => {
    const tx = createTxFromRLP(raw, { common: createCustomCommon({ chainId: DEV_CHAIN_ID }, Mainnet, { hardfork: Hardfork.Prague }) });
    return { hash: tx.getMessageToVerifySignature() as Uint8Array, v: tx.v!, r: bigIntToBytes(tx.r!), s: bigIntToBytes(tx.s!) };
  });
  const recovery = await microsPerItem(TX_COUNT, 1, (i) => {
    const a = recoveryArgs[i]!;
    return ecrecover(a.hash, a.v, a.r, a.s);
  });
  const { pool } = createRuntimeModules({ logger, pool: { tasks: poolTasks } });
  const tiny = new Uint8Array(32);
  await pool.run('keccak256', tiny); // the workers' start-up is not a hop
  const poolHop = await microsPerItem(TX_COUNT, IN_FLIGHT, () => pool.run('keccak256', tiny));
  const poolDecode = await microsPerItem(TX_COUNT, IN_FLIGHT, (i) => pool.run('decodeTransaction', { raw: raws[i]!, chainId }));
  await pool.destroy();
  const redis = new Redis(REDIS_URL);
  const prefix = `baton-bench-mempool-${process.pid}-redis`;
  const mempool = new RedisMempool({ prefix, maxPending: TX_COUNT * 2 }, { redis });
  const redisAdd = await microsPerItem(TX_COUNT, IN_FLIGHT, (i) =>
    mempool.add({ hash: `0x${i.toString(16).padStart(64, '0')}`, raw: requests[i]!.params[0]! }),
  );
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  const us = (figure: string, value: number): Row => ({ figure, value, unit: 'µs/tx' });
  return [
    us('HTTP route + JSON parse/reply, no-op handler (incl. load generator)', 1e6 / http.txPerSecond),
    us('decode + sender recovery, this thread', decodeWithRecovery),
    us(`sender recovery alone (${senderRecovery.native ? 'native libsecp256k1' : 'JavaScript fallback'})`, recovery),
    us('decode without recovery (difference)', decodeWithRecovery - recovery),
    us(`pool round trip, 32-byte keccak task, ${IN_FLIGHT} in flight`, poolHop),
    us(`pool decodeTransaction, ${IN_FLIGHT} in flight`, poolDecode),
    us(`Redis add script, ${IN_FLIGHT} in flight`, redisAdd),
  ];
}

console.log('profiling each stage alone…');
const profile = await stageProfile();
console.log('ingesting with recovery on the main thread (baseline)…');
const inline = await ingest(singleBodies, TX_COUNT, true);
console.log('ingesting with recovery on the pool…');
const pooled = await ingest(singleBodies, TX_COUNT, false);
console.log(`ingesting JSON-RPC batches of ${BATCH_SIZE}, ${BATCHES_IN_FLIGHT} in flight, recovery on the pool and then on the main thread…`);
const batched = await ingest(batchBodies, TX_COUNT, false, false, BATCHES_IN_FLIGHT);
const batchedInline = await ingest(batchBodies, TX_COUNT, true, false, BATCHES_IN_FLIGHT);

reportSection(`Mempool ingest: where one transaction's time goes (each stage alone; load ${loadAverage()})`, profile);
const rows: Row[] = [
  { figure: 'transactions accepted through /rpc', value: pooled.txPerSecond, unit: 'tx/s', baseline: inline.txPerSecond, higherIsBetter: true },
  { figure: 'supervisor event-loop delay during ingest p50', value: pooled.loopP50Ms, unit: 'ms', baseline: inline.loopP50Ms, higherIsBetter: false },
  { figure: 'supervisor event-loop delay during ingest p99', value: pooled.loopP99Ms, unit: 'ms', baseline: inline.loopP99Ms, higherIsBetter: false },
  {
    figure: `transactions accepted, JSON-RPC batches of ${BATCH_SIZE}`,
    value: batched.txPerSecond,
    unit: 'tx/s',
    baseline: batchedInline.txPerSecond,
    higherIsBetter: true,
  },
  { figure: 'event-loop delay p99, batches', value: batched.loopP99Ms, unit: 'ms', baseline: batchedInline.loopP99Ms, higherIsBetter: false },
];
reportSection(`Mempool ingest (baseline: decode and sender recovery on the main thread, same requests; load ${loadAverage()})`, rows);

function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}
