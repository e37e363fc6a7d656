/**
 * Member catch-up bench (`npx tsx bench/catchup.ts [--quick]`): blocks per second a member
 * syncs through Baton's own path — `GET /blocks` pages parsed on the pool, block hash verified
 * on the pool, newPayload/forkchoiceUpdated, its own PostgreSQL commit — with 1,400-transaction
 * blocks. The EL is the replay EL (it answers VALID without executing), so the figure is Baton's
 * ceiling; the time the EL took is reported separately (a real EL adds its execution time).
 * The blocks are the recorded payload renumbered and relinked, each with its correct block hash,
 * served by the real block API over a real store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import postgres from 'postgres';
import { attachFeed } from '../src/adapters/feed/index.js';
import { createApiServer } from '../src/adapters/http/index.js';
import { openBlockStore } from '../src/adapters/postgres/index.js';
import type { Config } from '../src/cli/config.js';
import { parseConfig } from '../src/cli/config.js';
import { nodeOptions } from '../src/cli/nodeOptions.js';
import { startNode } from '../src/node/index.js';
import { loadTemplate, MemoryEl } from '../test/helpers/memoryEl.js';
import { createDatabase } from '../test/helpers/services.js';
import { ReplayEl } from './replayEl.js';
import { type Row, reportSection } from './stats.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/payloads/04-transfers-1400.json', import.meta.url));

export async function runCatchupBench(quick: boolean, log: (line: string) => void = console.log): Promise<Row[]> {
  const blocks = quick ? 40 : 200;
  log(`catch-up bench: ${blocks} blocks of 1,400 tx, Node ${process.version}, ${availableParallelism()} cores${quick ? ' (quick)' : ''}`);
  const logger = pino({ level: 'warn' });
  const el = new ReplayEl(FIXTURE);
  const elUrl = await el.listen();
  const [leaderDb, memberDb] = await Promise.all([createDatabase('baton_bench'), createDatabase('baton_bench')]);
  const dataDir = await mkdtemp(join(tmpdir(), 'baton-bench-catchup-'));
  const { store, stop: stopStore } = await openBlockStore({ url: leaderDb.url, embeddedDataDir: dataDir }, { logger });
  const api = createApiServer({ host: '127.0.0.1', port: 0 }, { logger, store });
  const feed = attachFeed(api.app, {}, { store, logger });
  let node: Awaited<ReturnType<typeof startNode>> | null = null;
  try {
    // The committed chain a leader would serve, built by an in-memory EL of the same genesis with
    // correct hashes, so the member's verification passes.
    const leaderEl = new MemoryEl({ template: loadTemplate(FIXTURE) });
    for (const block of await leaderEl.produce(blocks)) {
      await store.commitBlock({ ...block.summary, payloadData: block.payloadData, requestsData: block.requestsData }, 1n, 'bench-leader');
    }
    await api.listen();
    const config = parseConfig(
      [
        '--role',
        'member',
        '--instance-id',
        'bench-member',
        '--leader-url',
        `http://127.0.0.1:${api.port}`,
        '--eth-client-url',
        elUrl,
        '--eth-rpc-url',
        elUrl,
        '--jwt-secret',
        '00'.repeat(32),
        '--postgres-url',
        memberDb.url,
        '--data-dir',
        dataDir,
        '--health-addr',
        '127.0.0.1:0',
        '--api-addr',
        '127.0.0.1:0',
      ],
      {},
    );
    const sql = postgres(memberDb.url, { max: 1, onnotice: () => {} });
    const started = performance.now();
    el.resetTimer();
    node = await startNode(nodeOptions(config as Config), logger);
    try {
      for (;;) {
        // The member migrates its database at start: until then there is no table to count.
        const rows = await sql<{ n: string }[]>`SELECT count(*) AS n FROM payloads`.catch(() => [{ n: '0' }]);
        if (Number(rows[0]?.n) >= blocks) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await sql.end();
    }
    const seconds = (performance.now() - started) / 1000;
    log(`  ${blocks} blocks synced in ${seconds.toFixed(1)} s (node start included); the replay EL spent ${(el.busyMs / 1000).toFixed(2)} s answering`);
    return [
      { figure: `member catch-up, 1,400-tx blocks: verify + newPayload/fcU + store (node start included)`, value: blocks / seconds, unit: 'blocks/s' },
      { figure: 'of which in the (replay) EL', value: el.busyMs / 1000 / seconds, unit: 'share of wall time' },
    ];
  } finally {
    await node?.stop();
    feed.close();
    api.close();
    el.close();
    await stopStore();
    await Promise.all([leaderDb.drop(), memberDb.drop()]);
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await runCatchupBench(process.argv.includes('--quick'));
  reportSection('Member catch-up (replay EL: Baton’s path only; EL time reported separately)', rows);
  process.exit(0);
}
