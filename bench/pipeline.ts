/**
 * Leader pipeline bench (`npx tsx bench/pipeline.ts [--quick]`): blocks per second through the
 * whole leader path — Builder → pool encode → Publisher (newPayload → fenced PostgreSQL commit →
 * forkchoiceUpdated → fenced Redis XADD → feed publish) — with the recorded 1,400-transaction
 * payload served by a replay EL, so Baton is what is measured. Baseline in the same run: a plain
 * single-connection INSERT loop of the same rows into the same PostgreSQL (DESIGN §9: ≥ 0.7×).
 * Also the supervisor thread's event-loop delay during the run, against the same pipeline with
 * the pool inline on that thread (budget p99 ≤ 10 ms).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import postgres from 'postgres';
import type { Config } from '../src/cli/config.js';
import { parseConfig } from '../src/cli/config.js';
import { nodeOptions } from '../src/cli/nodeOptions.js';
import { startNode } from '../src/node/index.js';
import type { PoolOptions } from '../src/runtime/pool.js';
import { poolTasks } from '../src/tasks/index.js';
import { createDatabase, deleteRedisPrefix, REDIS_ADDR, uniqueRedisPrefix } from '../test/helpers/services.js';
import { ReplayEl } from './replayEl.js';
import { type Row, reportSection } from './stats.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/payloads/04-transfers-1400.json', import.meta.url));

export interface PipelineFigures {
  blocksPerSecond: number;
  blocks: number;
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  /** Mean milliseconds per block of each leader stage (`baton_block_stage_seconds`), over the whole run. */
  stageMeansMs: Map<string, number>;
}

/** Mean per block of each stage, from the node's own `baton_block_stage_seconds` histogram (`_sum` / `_count`). */
async function stageMeans(healthPort: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
  const read = (suffix: string) =>
    new Map([...text.matchAll(new RegExp(`^baton_block_stage_seconds_${suffix}\\{stage="([^"]+)"\\} (\\S+)$`, 'gm'))].map((m) => [m[1]!, Number(m[2])]));
  const sums = read('sum');
  const counts = read('count');
  return new Map([...sums].map(([stage, sum]) => [stage, (sum / (counts.get(stage) || 1)) * 1000]));
}

/** Runs one node on the replay EL for `seconds` after its first block; counts committed rows. */
async function runPipeline(
  seconds: number,
  pool: PoolOptions | undefined,
  log: (line: string) => void,
): Promise<PipelineFigures & { dbUrl: string; drop: () => Promise<void> }> {
  const el = new ReplayEl(FIXTURE);
  const url = await el.listen();
  const db = await createDatabase('baton_bench');
  const dataDir = await mkdtemp(join(tmpdir(), 'baton-bench-pipeline-'));
  const prefix = uniqueRedisPrefix();
  const parsed = parseConfig(
    [
      '--role',
      'leader',
      '--instance-id',
      'bench',
      '--eth-client-url',
      url,
      '--eth-rpc-url',
      url,
      '--jwt-secret',
      '00'.repeat(32),
      '--postgres-url',
      db.url,
      '--redis-addr',
      REDIS_ADDR,
      '--redis-prefix',
      prefix,
      '--block-time',
      '1ms',
      '--lease-ttl',
      '5s',
      '--data-dir',
      dataDir,
      '--health-addr',
      '127.0.0.1:0',
      '--api-addr',
      '127.0.0.1:0',
    ],
    {},
  );
  const node = await startNode(nodeOptions(parsed as Config), pino({ level: 'warn' }), { pool });
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  const count = async () => Number((await sql<{ n: string }[]>`SELECT count(*) AS n FROM payloads`)[0]!.n);
  try {
    while ((await count()) === 0) await new Promise((r) => setTimeout(r, 50));
    const delay = monitorEventLoopDelay({ resolution: 1 });
    const before = await count();
    const started = performance.now();
    delay.enable();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    delay.disable();
    const blocks = (await count()) - before;
    const elapsed = (performance.now() - started) / 1000;
    log(`  ${pool?.inline ? 'pool inline' : 'pool on worker threads'}: ${blocks} blocks in ${elapsed.toFixed(1)} s`);
    const stageMeansMs = await stageMeans(node.healthPort);
    return {
      blocksPerSecond: blocks / elapsed,
      blocks,
      loopDelayP50Ms: delay.percentile(50) / 1e6,
      loopDelayP99Ms: delay.percentile(99) / 1e6,
      stageMeansMs,
      dbUrl: db.url,
      drop: () => db.drop(),
    };
  } finally {
    await sql.end();
    await node.stop();
    el.close();
    const redis = new Redis(`redis://${REDIS_ADDR}`);
    await deleteRedisPrefix(redis, prefix);
    redis.disconnect();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The physical floor: the same rows inserted one by one, one connection, each its own transaction. */
async function insertLoop(dbUrl: string, rows: number): Promise<number> {
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`CREATE TABLE payloads_copy (LIKE payloads INCLUDING ALL)`;
    const source = await sql`SELECT * FROM payloads ORDER BY block_number LIMIT ${rows}`;
    const started = performance.now();
    for (const r of source) {
      await sql`INSERT INTO payloads_copy (block_number, block_hash, parent_hash, payload_data, requests_data, timestamp, epoch, leader, tx_count)
        VALUES (${r.block_number}, ${r.block_hash}, ${r.parent_hash}, ${r.payload_data}, ${r.requests_data}, ${r.timestamp}, ${r.epoch}, ${r.leader}, ${r.tx_count})`;
    }
    return source.length / ((performance.now() - started) / 1000);
  } finally {
    await sql.end();
  }
}

export async function runPipelineBench(quick: boolean, log: (line: string) => void = console.log): Promise<Row[]> {
  const seconds = quick ? 8 : 30;
  log(
    `pipeline bench: replayed ${new ReplayEl(FIXTURE).txCount}-tx payload, ${seconds} s per run, Node ${process.version}, ${availableParallelism()} cores${quick ? ' (quick)' : ''}`,
  );
  const pooled = await runPipeline(seconds, undefined, log);
  const inline = await runPipeline(seconds, { tasks: poolTasks, inline: true }, log);
  try {
    const insertsPerSecond = await insertLoop(pooled.dbUrl, pooled.blocks);
    const insertMs = 1000 / insertsPerSecond;
    // Where a block's time goes: each stage's mean, against one row of the INSERT loop.
    const stages: Row[] = [...pooled.stageMeansMs].map(([stage, ms]) => ({
      figure: `  stage ${stage}, mean per block (baseline: one INSERT of the loop)`,
      value: ms,
      unit: 'ms',
      baseline: insertMs,
      higherIsBetter: false,
    }));
    return [
      {
        figure: 'leader pipeline, 1,400-tx blocks (baseline: single-connection INSERT loop)',
        value: pooled.blocksPerSecond,
        unit: 'blocks/s',
        baseline: insertsPerSecond,
      },
      ...stages,
      {
        figure: 'supervisor event-loop delay p50 (baseline: pool inline)',
        value: pooled.loopDelayP50Ms,
        unit: 'ms',
        baseline: inline.loopDelayP50Ms,
        higherIsBetter: false,
      },
      {
        figure: 'supervisor event-loop delay p99 (baseline: pool inline)',
        value: pooled.loopDelayP99Ms,
        unit: 'ms',
        baseline: inline.loopDelayP99Ms,
        higherIsBetter: false,
      },
      {
        figure: 'leader pipeline with the pool inline (baseline: pool on workers)',
        value: inline.blocksPerSecond,
        unit: 'blocks/s',
        baseline: pooled.blocksPerSecond,
      },
    ];
  } finally {
    await Promise.all([pooled.drop(), inline.drop()]);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await runPipelineBench(process.argv.includes('--quick'));
  reportSection('Leader pipeline (replay EL; baselines measured in this run)', rows);
  process.exit(0);
}
