/**
 * Memory bench (`npx tsx bench/memory.ts [--quick]`): a leader under load for `RUN_SECONDS` —
 * 1,400-transaction blocks from the replay EL every `BLOCK_TIME`, `SUBSCRIBERS` feed subscribers
 * (summaries, in a process of their own), and `INGEST_TX_PER_SECOND` signed transactions a second
 * through `POST /rpc` (from another process) — and the Baton process's memory, sampled every
 * `SAMPLE_MS`: RSS from `/proc/<pid>/status` (anonymous and file-backed apart, threads), and the
 * supervisor heap from its own `/metrics`. The node runs as the built CLI (`node dist/cli/main.js`,
 * as in production: no TypeScript loader in the process); the EL, PostgreSQL, Redis, the
 * subscribers and the load are other processes, so RSS is Baton's alone (`--reuse-build` skips
 * the build into `dist-test-memory/`). Steady state is the second
 * half of the run; growth per minute is the least-squares slope over it. Budget (DESIGN §9): RSS ≤
 * 200 MB, no growth trend. The figures have no same-run baseline: a budget, not a ratio.
 */
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { DEV_CHAIN_ID } from '../src/adapters/executionClient/genesis.js';
import { signTransfer, testAccounts } from '../src/adapters/executionClient/testAccounts.js';
import { freePort } from '../test/helpers/etcdCluster.js';
import { createDatabase, deleteRedisPrefix, REDIS_ADDR, uniqueRedisPrefix } from '../test/helpers/services.js';
import { ReplayEl } from './replayEl.js';
import { type Row, reportSection } from './stats.js';

const quick = process.argv.includes('--quick');
const RUN_SECONDS = quick ? 40 : 150;
const SAMPLE_MS = 2_000;
/** Half a second: under a loaded machine a 100 ms slot of 1,400 transactions overruns the Builder's deadline (block time + 2 s) and the run measures restarts, not a steady leader. */
const BLOCK_TIME = '500ms';
const SUBSCRIBERS = 1_000;
const INGEST_TX_PER_SECOND = 200;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILT = join(ROOT, 'dist-test-memory');
const FIXTURE = fileURLToPath(new URL('./fixtures/payloads/04-transfers-1400.json', import.meta.url));

/** One sample of the node process. */
interface Sample {
  atS: number;
  rssMb: number;
  rssAnonMb: number;
  rssFileMb: number;
  threads: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
}

const MB = 1024 * 1024;

/** VmRSS, RssAnon, RssFile (+ RssShmem) and Threads of `pid`, from the kernel. */
async function procStatus(pid: number): Promise<Pick<Sample, 'rssMb' | 'rssAnonMb' | 'rssFileMb' | 'threads'>> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) / 1024;
  return {
    rssMb: kb('VmRSS'),
    rssAnonMb: kb('RssAnon'),
    rssFileMb: kb('RssFile') + kb('RssShmem'),
    threads: Number(/^Threads:\s+(\d+)/m.exec(text)?.[1]),
  };
}

/** The supervisor isolate's heap, from prom-client's default metrics on the health server. */
async function heapFromMetrics(healthUrl: string): Promise<Pick<Sample, 'heapUsedMb' | 'heapTotalMb' | 'externalMb'>> {
  const text = await (await fetch(`${healthUrl}/metrics`)).text();
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) / MB;
  return {
    heapUsedMb: gauge('nodejs_heap_size_used_bytes'),
    heapTotalMb: gauge('nodejs_heap_size_total_bytes'),
    externalMb: gauge('nodejs_external_memory_bytes'),
  };
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** Child: `count` ws subscribers to `url`, summaries only; reports frames received when asked. */
async function serveSubscribers(url: string, count: number): Promise<void> {
  let frames = 0;
  const sockets: WebSocket[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = Array.from(
      { length: Math.min(50, count - i) },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const socket = new WebSocket(url, { perMessageDeflate: false });
          socket.on('message', () => frames++);
          socket.once('error', reject);
          socket.once('open', () => {
            socket.send(JSON.stringify({ op: 'subscribe', encoding: 'msgpack', payload: false }));
            resolve(socket);
          });
        }),
    );
    sockets.push(...(await Promise.all(batch)));
  }
  process.send!({ type: 'connected' });
  process.on('message', () => process.send!({ type: 'frames', frames, open: sockets.filter((s) => s.readyState === WebSocket.OPEN).length }));
}

/** Child: signs and sends `rate` transfers a second to `url`, one request each; reports accepted and refused when asked. */
async function serveIngest(url: string, rate: number): Promise<void> {
  const accounts = testAccounts();
  const nonces = accounts.map(() => 0n);
  let accepted = 0;
  let refused = 0;
  let firstRefusal = '';
  let i = 0;
  const refuse = (why: string) => {
    refused++;
    firstRefusal ||= why;
  };
  process.on('message', () => process.send!({ type: 'ingest', accepted, refused, firstRefusal }));
  const started = performance.now();
  for (;;) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    const sends: Promise<void>[] = [];
    for (; i < due; i++) {
      const k = i % accounts.length;
      const tx = signTransfer({
        from: accounts[k]!,
        to: accounts[(k + 1) % accounts.length]!.address,
        valueWei: 1n,
        nonce: nonces[k]!++,
        chainId: BigInt(DEV_CHAIN_ID),
      });
      const body = JSON.stringify({ jsonrpc: '2.0', id: i, method: 'eth_sendRawTransaction', params: [tx.raw] });
      sends.push(
        fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
          .then((r) => r.json() as Promise<{ result?: string; error?: { message: string } }>)
          .then(
            (a) => void (a.result ? accepted++ : refuse(a.error?.message ?? 'no result')),
            (err: Error) => refuse(err.message),
          ),
      );
    }
    await Promise.all(sends);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function ask<T>(child: ChildProcess): Promise<T> {
  const reply = once(child, 'message') as Promise<[T]>;
  child.send({ type: 'report' });
  return (await reply)[0];
}

async function main(): Promise<void> {
  console.log(
    `memory bench: leader, ${BLOCK_TIME} blocks of the replayed 1,400-tx payload, ${SUBSCRIBERS} feed subscribers, ${INGEST_TX_PER_SECOND} tx/s ingest, ${RUN_SECONDS} s, Node ${process.version}, ${availableParallelism()} cores${quick ? ' (quick)' : ''}`,
  );
  console.error('building the node (scripts/build.ts --no-check)…');
  if (!process.argv.includes('--reuse-build')) {
    const build = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/build.ts'), '--out-dir', BUILT, '--no-check'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (build.status !== 0) throw new Error('memory bench: the build failed');
  }
  const el = new ReplayEl(FIXTURE);
  const elUrl = await el.listen();
  // One call first, so the node's 1 s start-up handshake does not meet a cold EL on a loaded machine.
  await fetch(elUrl, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'engine_exchangeCapabilities', params: [[]] }) });
  const db = await createDatabase('baton_bench');
  const dataDir = await mkdtemp(join(tmpdir(), 'baton-bench-memory-'));
  const prefix = uniqueRedisPrefix();
  const [apiPort, healthPort] = [await freePort(), await freePort()];
  const args = [
    ...['--role', 'leader', '--instance-id', 'bench-memory', '--eth-client-url', elUrl, '--eth-rpc-url', elUrl, '--jwt-secret', '00'.repeat(32)],
    ...['--postgres-url', db.url, '--redis-addr', REDIS_ADDR, '--redis-prefix', prefix, '--block-time', BLOCK_TIME, '--lease-ttl', '5s'],
    ...['--data-dir', dataDir, '--health-addr', `127.0.0.1:${healthPort}`, '--api-addr', `127.0.0.1:${apiPort}`, '--log-level', 'warn'],
  ];
  const healthUrl = `http://127.0.0.1:${healthPort}`;
  /** Starts the node and waits for its health; null if it exited first (on a loaded machine its 1 s EL handshake can time out). */
  const start = async (): Promise<ChildProcess | null> => {
    const child = spawn(process.execPath, [join(BUILT, 'cli/main.js'), ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    for (;;) {
      if (child.exitCode !== null) return null;
      const ready = await fetch(`${healthUrl}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return child;
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  let node: ChildProcess | null = null;
  for (let attempt = 1; !node && attempt <= 5; attempt++) node = await start();
  if (!node) throw new Error('memory bench: the node did not start in 5 attempts');
  const children: ChildProcess[] = [];
  try {
    const file = fileURLToPath(import.meta.url);
    const subscribers = fork(file, ['--subscribers', `ws://127.0.0.1:${apiPort}/feed`, String(SUBSCRIBERS)]);
    children.push(subscribers);
    await once(subscribers, 'message');
    const ingest = fork(file, ['--ingest', `http://127.0.0.1:${apiPort}/rpc`, String(INGEST_TX_PER_SECOND)]);
    children.push(ingest);
    console.error(`node pid ${node.pid}: ${SUBSCRIBERS} subscribers connected, ingest started; sampling every ${SAMPLE_MS / 1000} s`);
    const samples: Sample[] = [];
    const started = performance.now();
    while (performance.now() - started < RUN_SECONDS * 1000) {
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
      const atS = (performance.now() - started) / 1000;
      const sample = { atS, ...(await procStatus(node.pid!)), ...(await heapFromMetrics(healthUrl)) };
      samples.push(sample);
      if (samples.length % 5 === 0) {
        console.error(
          `  ${atS.toFixed(0)} s: RSS ${sample.rssMb.toFixed(0)} MB (anon ${sample.rssAnonMb.toFixed(0)}, file ${sample.rssFileMb.toFixed(0)}), heap ${sample.heapUsedMb.toFixed(0)}/${sample.heapTotalMb.toFixed(0)} MB, external ${sample.externalMb.toFixed(0)} MB, ${sample.threads} threads; load ${load()}`,
        );
      }
    }
    const fed = await ask<{ frames: number; open: number }>(subscribers);
    const ingested = await ask<{ accepted: number; refused: number; firstRefusal: string }>(ingest);
    const steady = samples.slice(Math.floor(samples.length / 2));
    const perMinute = (pick: (s: Sample) => number) =>
      slope(
        steady.map((s) => s.atS / 60),
        steady.map(pick),
      );
    const last = samples.at(-1)!;
    console.error(
      `  feed: ${fed.frames} frames to ${fed.open} open subscribers; ingest: ${ingested.accepted} accepted, ${ingested.refused} refused${ingested.firstRefusal ? ` (first: ${ingested.firstRefusal})` : ''}`,
    );
    const rows: Row[] = [
      { figure: 'node RSS, steady state (mean of the second half)', value: mean(steady.map((s) => s.rssMb)), unit: 'MB' },
      { figure: 'node RSS, peak', value: Math.max(...samples.map((s) => s.rssMb)), unit: 'MB' },
      { figure: '  of which anonymous (heaps, malloc, buffers)', value: mean(steady.map((s) => s.rssAnonMb)), unit: 'MB' },
      { figure: '  of which file-backed (node binary, shared libraries)', value: mean(steady.map((s) => s.rssFileMb)), unit: 'MB' },
      { figure: 'supervisor heap used, steady state', value: mean(steady.map((s) => s.heapUsedMb)), unit: 'MB' },
      { figure: 'supervisor heap total (reserved), steady state', value: mean(steady.map((s) => s.heapTotalMb)), unit: 'MB' },
      { figure: 'supervisor external memory (ArrayBuffers, native)', value: mean(steady.map((s) => s.externalMb)), unit: 'MB' },
      { figure: 'threads in the node process', value: last.threads, unit: '' },
      { figure: 'RSS growth over the second half', value: perMinute((s) => s.rssMb), unit: 'MB/min' },
      { figure: 'heap-used growth over the second half', value: perMinute((s) => s.heapUsedMb), unit: 'MB/min' },
      { figure: 'feed frames delivered during the run', value: fed.frames, unit: 'frames' },
      { figure: 'transactions accepted during the run', value: ingested.accepted, unit: 'tx' },
    ];
    reportSection(`Memory: leader under load, ${RUN_SECONDS} s (budget RSS ≤ 200 MB, no growth; load ${load()})`, rows);
  } finally {
    for (const child of children) child.kill();
    if (node.exitCode === null && node.signalCode === null) {
      node.kill('SIGTERM');
      await once(node, 'exit');
    }
    el.close();
    const redis = new Redis(`redis://${REDIS_ADDR}`);
    await deleteRedisPrefix(redis, prefix);
    redis.disconnect();
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const role = process.argv[2];
if (role === '--subscribers') await serveSubscribers(process.argv[3]!, Number(process.argv[4]));
else if (role === '--ingest') await serveIngest(process.argv[3]!, Number(process.argv[4]));
else {
  await main();
  process.exit(0);
}
