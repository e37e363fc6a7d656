/**
 * End-to-end bench with the real EL (`npx tsx bench/endToEnd.ts [--quick]`): a leader on the
 * embedded `@ethereumjs/client` producing blocks as fast as it can (`--block-time 20ms`) with ten
 * transfers per block, and where each block's wall time goes. Every Engine API call passes through
 * a timing proxy, so the EL's share is measured, not estimated: wall time per block = time with an
 * Engine API call in flight + Baton's own time (the rest: pool encode, PostgreSQL commit with the
 * fence, the actors, the client side of the round trips, and whatever of the Builder's build wait
 * — half the block time, 10 ms here — forkchoiceUpdated did not already cover).
 * The EL here is a correctness EL, slow at building (DESIGN §7): the figure says where time goes
 * on this machine, not what Geth would sustain.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import postgres from 'postgres';
import { startEmbeddedEl } from '../src/adapters/executionClient/embedded.js';
import { DEV_CHAIN_ID } from '../src/adapters/executionClient/genesis.js';
import { signTransfer, testAccounts } from '../src/adapters/executionClient/testAccounts.js';
import { type Config, parseConfig } from '../src/cli/config.js';
import { nodeOptions } from '../src/cli/nodeOptions.js';
import { startNode } from '../src/node/index.js';
import { createDatabase } from '../test/helpers/services.js';
import { percentile, type Row, reportSection } from './stats.js';

const BLOCK_TIME_MS = 20;
/** The Builder waits min(500, block time / 2) from the start of forkchoiceUpdated to getPayload. */
const BUILD_WAIT_MS = BLOCK_TIME_MS / 2;
const TXS_PER_BLOCK = 10;

/**
 * Forwards every request to the EL and measures the time at least one call was in flight (calls
 * can overlap, so a sum would count some time twice), and the time per JSON-RPC method.
 */
async function startTimingProxy(target: string): Promise<{ url: string; busyMs: () => number; byMethod: Map<string, number>; close(): void }> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true });
  let busy = 0;
  let inFlight = 0;
  let busySince = 0;
  const byMethod = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const method = (() => {
        try {
          return (JSON.parse(body.toString()) as { method?: string }).method ?? 'batch';
        } catch {
          return 'unparsed';
        }
      })();
      const started = performance.now();
      if (inFlight++ === 0) busySince = started;
      const out = httpRequest({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers, agent }, (up) => {
        const parts: Buffer[] = [];
        up.on('data', (c: Buffer) => parts.push(c));
        up.on('end', () => {
          const ended = performance.now();
          const ms = ended - started;
          if (--inFlight === 0) busy += ended - busySince;
          byMethod.set(method, (byMethod.get(method) ?? 0) + ms);
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(Buffer.concat(parts));
        });
      });
      out.on('error', () => {
        if (--inFlight === 0) busy += performance.now() - busySince;
        res.writeHead(502);
        res.end();
      });
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    busyMs: () => busy,
    byMethod,
    close: () => {
      server.close();
      agent.destroy();
    },
  };
}

export async function runEndToEndBench(quick: boolean, log: (line: string) => void = console.log): Promise<Row[]> {
  const warmupBlocks = 3;
  const measuredBlocks = quick ? 15 : 60;
  const logger = pino({ level: 'silent' });
  const dataDir = await mkdtemp(join(tmpdir(), 'baton-bench-e2e-'));
  const db = await createDatabase('baton_bench');
  const el = await startEmbeddedEl({ dataDir: join(dataDir, 'el') });
  const proxy = await startTimingProxy(el.engineUrl);
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  let node: Awaited<ReturnType<typeof startNode>> | null = null;
  try {
    log(
      `end-to-end bench: embedded @ethereumjs/client, --block-time ${BLOCK_TIME_MS}ms, ${TXS_PER_BLOCK} transfers per block, ${measuredBlocks} blocks measured, Node ${process.version}, ${availableParallelism()} cores${quick ? ' (quick)' : ''}`,
    );
    const config = parseConfig(
      [
        '--role',
        'leader',
        '--instance-id',
        'bench-e2e',
        '--eth-client-url',
        proxy.url,
        '--eth-rpc-url',
        el.rpcUrl,
        '--jwt-secret',
        Buffer.from(el.jwtSecret).toString('hex'),
        '--postgres-url',
        db.url,
        '--lease-backend',
        'file',
        '--block-time',
        `${BLOCK_TIME_MS}ms`,
        '--data-dir',
        dataDir,
        '--health-addr',
        '127.0.0.1:0',
        '--api-addr',
        '127.0.0.1:0',
      ],
      {},
    );
    node = await startNode(nodeOptions(config as Config), logger);
    const head = async () => Number((await sql<{ n: string | null }[]>`SELECT max(block_number) AS n FROM payloads`.catch(() => [{ n: null }]))[0]?.n ?? 0);
    const accounts = testAccounts();
    const nonces = accounts.map(() => 0n);
    /** Ten transfers into the EL's txpool, one per account: the next block carries them. */
    const feedTxpool = async () => {
      for (const [k, from] of accounts.entries()) {
        const tx = signTransfer({ from, to: accounts[(k + 1) % accounts.length]!.address, valueWei: 1n, nonce: nonces[k]!, chainId: BigInt(DEV_CHAIN_ID) });
        const res = await fetch(el.rpcUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [tx.raw] }),
        });
        if (!((await res.json()) as { error?: unknown }).error) nonces[k]!++;
      }
    };
    // The EL takes transactions only after the first forkchoiceUpdated: wait for a block.
    while ((await head()) < warmupBlocks) await new Promise((r) => setTimeout(r, 50));
    log('  measuring…');
    const commitTimes: number[] = [];
    let last = await head();
    const startHead = last;
    const busyAtStart = proxy.busyMs();
    const methodsAtStart = new Map(proxy.byMethod);
    await feedTxpool();
    const started = performance.now();
    while (last - startHead < measuredBlocks) {
      const now = await head();
      if (now > last) {
        for (let n = last; n < now; n++) commitTimes.push(performance.now());
        last = now;
        await feedTxpool();
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    const wallMs = performance.now() - started;
    const elMs = proxy.busyMs() - busyAtStart;
    const blocks = last - startHead;
    const intervals = commitTimes
      .slice(1)
      .map((t, i) => t - commitTimes[i]!)
      .sort((a, b) => a - b);
    const perBlock = (ms: number) => ms / blocks;
    const batonMs = Math.max(0, wallMs - elMs);
    const topMethods = [...proxy.byMethod]
      .map(([m, ms]) => [m, ms - (methodsAtStart.get(m) ?? 0)] as const)
      .filter(([, ms]) => ms > 0)
      .sort((a, b) => b[1] - a[1]);
    log(
      `  ${blocks} blocks in ${(wallMs / 1000).toFixed(1)} s; EL calls: ${topMethods.map(([m, ms]) => `${m} ${(ms / blocks).toFixed(1)} ms/block`).join(', ')}`,
    );
    return [
      {
        figure: `blocks per second, real EL, ${TXS_PER_BLOCK} transfers per block, --block-time ${BLOCK_TIME_MS}ms`,
        value: (blocks / wallMs) * 1000,
        unit: 'blocks/s',
      },
      { figure: 'wall time per block p50', value: percentile(intervals, 50), unit: 'ms' },
      { figure: 'of which waiting on the EL (an Engine API call in flight)', value: perBlock(elMs), unit: 'ms/block' },
      {
        figure: `of which Baton (the rest, with any of its ≤ ${BUILD_WAIT_MS} ms build wait not spent inside forkchoiceUpdated)`,
        value: perBlock(batonMs),
        unit: 'ms/block',
      },
      { figure: 'Baton’s share of each block’s wall time', value: (batonMs / wallMs) * 100, unit: '%' },
    ];
  } finally {
    await node?.stop();
    await sql.end();
    proxy.close();
    await el.stop();
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await runEndToEndBench(process.argv.includes('--quick'));
  reportSection('End to end with the real EL (embedded @ethereumjs/client; where each block’s wall time goes)', rows);
  process.exit(0);
}
