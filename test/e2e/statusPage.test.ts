import { join } from 'node:path';
import test from 'ava';
import { Redis } from 'ioredis';
import { type Browser, chromium, type Page } from 'playwright-core';
import { DEV_CHAIN_ID } from '../../src/adapters/executionClient/genesis.js';
import { signTransfer, testAccounts } from '../../src/adapters/executionClient/testAccounts.js';
import { type BatonProcess, startBaton, waitFor } from '../helpers/batonProcess.js';
import { createDatabase, deleteRedisPrefix, REDIS_ADDR, rpc, uniqueRedisPrefix } from '../helpers/services.js';

/** Debian's Chromium (never a downloaded browser), headless, with the flags this machine's closed network needs. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** The page's bound on table rows (`MAX_ROWS` in statusPage.html). */
const MAX_ROWS = 100;

/**
 * Two nodes, each with its own embedded EL (the costly part, so no more): `withRedis` has the
 * shared mempool, `plain` has none. One browser serves every test.
 */
const prefix = uniqueRedisPrefix();
const redis = new Redis(`redis://${REDIS_ADDR}`);
const nodes: { withRedis: BatonProcess | null; plain: BatonProcess | null } = { withRedis: null, plain: null };
const dbs: Awaited<ReturnType<typeof createDatabase>>[] = [];
let browser: Browser;

test.before(async () => {
  dbs.push(await createDatabase(), await createDatabase());
  [nodes.withRedis, nodes.plain] = await Promise.all([
    startBaton({
      args: ['--role', 'leader', '--postgres-url', dbs[0]!.url, '--instance-id', 'page-leader', '--redis-addr', REDIS_ADDR, '--redis-prefix', prefix],
    }),
    startBaton({ args: ['--role', 'leader', '--postgres-url', dbs[1]!.url, '--instance-id', 'page-plain'] }),
  ]);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  // Enough committed blocks that a page opened now must show them from /blocks, not from the feed.
  await waitFor(
    'both leaders have 5 blocks',
    async () => (await nodes.withRedis!.health()).body.head?.number >= 5 && (await nodes.plain!.health()).body.head?.number >= 1,
    120_000,
  );
});

test.after.always(async () => {
  await browser?.close();
  await Promise.all(Object.values(nodes).map((n) => n?.stop()));
  await deleteRedisPrefix(redis, prefix);
  redis.disconnect();
  await Promise.all(dbs.map((db) => db.drop()));
});

/** The table as the page shows it, newest first. Page-side code is a string: this file is compiled without the DOM library. */
async function rows(page: Page): Promise<{ number: number; source: string }[]> {
  return page.evaluate("[...document.querySelectorAll('tr.block')].map((r) => ({ number: Number(r.dataset.number), source: r.dataset.source }))");
}

/** Every row is the block after the one below it: no gap, no duplicate, newest first. */
function assertContiguous(t: import('ava').ExecutionContext, table: { number: number }[]): void {
  t.true(table.length > 0, 'the table has rows');
  t.true(table.length <= MAX_ROWS, `at most ${MAX_ROWS} rows (${table.length})`);
  t.is(new Set(table.map((r) => r.number)).size, table.length, `no duplicates: ${table.map((r) => r.number).join(',')}`);
  const breaks = table.slice(1).filter((r, i) => r.number !== table[i]!.number - 1);
  t.deepEqual(breaks, [], `no gaps: ${table.map((r) => r.number).join(',')}`);
}

async function open(node: BatonProcess, width = 1280): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  await page.goto(`${node.apiUrl}/`);
  return page;
}

test.serial('the table is backfilled from /blocks at load, then follows the feed live, and survives a reconnect without gaps or duplicates', async (t) => {
  const node = nodes.withRedis!;
  const committed = Number(((await (await fetch(`${node.apiUrl}/blocks/latest`)).json()) as { block_number: number }).block_number);
  t.true(committed >= 5);
  const page = await open(node);
  try {
    // At once: the backfill is two requests; a block time (1 s) later the feed would have brought only one block.
    await page.waitForFunction(`document.querySelectorAll('tr.block').length >= ${Math.min(committed, MAX_ROWS)}`, undefined, { timeout: 5_000 });
    const loaded = await rows(page);
    assertContiguous(t, loaded);
    const backfilled = loaded.filter((r) => r.number <= committed);
    t.is(backfilled.length, Math.min(committed, MAX_ROWS), `every block committed before the load is shown (head was ${committed})`);
    t.true(
      backfilled.every((r) => r.source === 'blocks'),
      `they came from /blocks: ${JSON.stringify(backfilled)}`,
    );
    t.is(await page.textContent('#max-rows'), String(MAX_ROWS), 'the page says how many rows it keeps');

    await page.waitForFunction(`Number(document.querySelector('tr.block')?.dataset.number) > ${loaded[0]!.number}`, undefined, { timeout: 15_000 });
    const live = await rows(page);
    assertContiguous(t, live);
    t.is(live[0]!.source, 'feed', 'a new block arrived over the feed');
    t.is(await page.textContent('#leader'), 'page-leader');
    t.is(await page.textContent('#health'), 'ok');

    // Reconnect: close the page's feed socket, and hold its next /blocks/latest for 2.5 s so that
    // blocks are committed while it is disconnected; they must come from the reconnect's backfill.
    await page.route('**/blocks/latest', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      await route.continue();
    });
    const before = (await page.evaluate(`(() => {
      const { connects, backfills, last, socket } = window.batonFeed;
      socket.close();
      return { connects, backfills, last };
    })()`)) as { connects: number; backfills: number; last: number };
    await page.waitForFunction(`window.batonFeed.connects > ${before.connects} && window.batonFeed.backfills > ${before.backfills}`, undefined, {
      timeout: 15_000,
    });
    await page.unroute('**/blocks/latest');
    // And live again afterwards.
    const reconnected = Number(await page.evaluate('window.batonFeed.last'));
    await page.waitForFunction(`window.batonFeed.last > ${reconnected}`, undefined, { timeout: 15_000 });
    const after = await rows(page);
    assertContiguous(t, after);
    const missed = after.filter((r) => r.number > before.last && r.number <= reconnected);
    t.true(missed.length >= 1 && missed.some((r) => r.source === 'blocks'), `blocks committed while disconnected were backfilled: ${JSON.stringify(missed)}`);
    t.true(
      after.some((r) => r.number <= before.last),
      'the rows from before the reconnect are kept',
    );
    t.true(
      after.filter((r) => r.number > reconnected).every((r) => r.source === 'feed'),
      'then the feed again',
    );

    const screenshot = join(node.dataDir, 'status-page.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    t.log(`screenshot: ${screenshot}`);
  } finally {
    await page.close();
  }
});

test.serial('the mempool section shows the shared mempool counts on a node with Redis', async (t) => {
  const node = nodes.withRedis!;
  const [from, to] = testAccounts();
  const tx = signTransfer({ from: from!, to: to!.address, valueWei: 1n, nonce: 0n, chainId: BigInt(DEV_CHAIN_ID) });
  t.is((await rpc(node, 'eth_sendRawTransaction', [tx.raw])).result, tx.hash);
  const page = await open(node);
  try {
    // The only transaction under this test's prefix: it goes pending → inflight → finalized within a few blocks.
    await page.waitForFunction("document.querySelector('#mempool li[data-key=finalized]')?.textContent === 'finalized 1'", undefined, { timeout: 30_000 });
    const counts = await page.evaluate("[...document.querySelectorAll('#mempool li')].map((li) => li.textContent)");
    t.deepEqual(counts, ['pending 0', 'queued 0', 'inflight 0', 'finalized 1', 'dropped 0']);
    t.deepEqual((await node.health()).body.mempool, { pending: 0, queued: 0, inflight: 0, finalized: 1, dropped: 0 }, '/health reports the same counts');
  } finally {
    await page.close();
  }
});

test.serial('the execution client section shows it reachable with its head, embedded, and its restarts when reported', async (t) => {
  const node = nodes.withRedis!;
  const page = await open(node);
  try {
    await page.waitForFunction("document.getElementById('el-reachable')?.textContent === 'yes'", undefined, { timeout: 10_000 });
    t.true(Number(await page.textContent('#el-head')) >= 1, 'an EL head number');
    t.regex((await page.textContent('#el-hash')) ?? '', /^0x[0-9a-f]{8}…$/);
    t.is(await page.textContent('#el-mode'), 'embedded');
    const reported = (await node.health()).body.executionClient.restarts;
    t.is(await page.textContent('#el-restarts'), typeof reported === 'number' ? String(reported) : '—');

    // What the page makes of /status fields this node may not report yet: `reachable` and `restarts` win
    // when present; without `reachable`, a `problems.el` means unreachable, shown with its reason.
    const status = (await (await fetch(`${node.apiUrl}/status`)).json()) as Record<string, any>;
    let fake: Record<string, any> = {
      ...status,
      executionClient: { ...status.executionClient, reachable: undefined, restarts: undefined },
      problems: { el: 'execution client unreachable: ECONNREFUSED' },
    };
    await page.route('**/status', (route) => route.fulfill({ contentType: 'application/json', body: JSON.stringify(fake) }));
    await page.waitForFunction("document.getElementById('el-reachable')?.textContent === 'no'", undefined, { timeout: 5_000 });
    t.is(await page.textContent('#el-reason'), 'execution client unreachable: ECONNREFUSED');
    t.is(await page.textContent('#el-restarts'), '—');
    fake = { ...status, executionClient: { ...status.executionClient, embedded: false, reachable: true, restarts: 3 }, problems: {} };
    await page.waitForFunction("document.getElementById('el-restarts')?.textContent === '3'", undefined, { timeout: 5_000 });
    t.is(await page.textContent('#el-reachable'), 'yes');
    t.is(await page.textContent('#el-reason'), '');
    t.is(await page.textContent('#el-mode'), 'external');
  } finally {
    await page.close();
  }
});

test.serial('the health monitor section shows the verdict, readiness, standbys, why a leader stays and its step-downs', async (t) => {
  const node = nodes.withRedis!;
  const page = await open(node);
  try {
    await page.waitForFunction("document.getElementById('hm-verdict')?.textContent === 'healthy'", undefined, { timeout: 10_000 });
    t.is(await page.textContent('#hm-ready'), 'no', 'a leader is not a standby');
    t.is(await page.textContent('#hm-standbys li'), 'none seen');
    // A sick leader that cannot hand over, then one that did: the page shows what /health says.
    const status = (await (await fetch(`${node.apiUrl}/status`)).json()) as Record<string, any>;
    let fake: Record<string, any> = {
      ...status,
      health: {
        verdict: 'unhealthy',
        reasons: ['execution client unreachable (2 calls failed): ECONNREFUSED'],
        ready: false,
        notReadyBecause: ['execution client unreachable (2 calls failed): ECONNREFUSED'],
        standbys: [{ id: 'node-b', ready: false, reasons: ['its execution client is at block 3, behind the committed head 9'], elHead: '3' }],
        staying: 'unhealthy, but no ready standby to hand over to: stays leader and keeps retrying',
        stepDowns: [],
      },
    };
    await page.route('**/status', (route) => route.fulfill({ contentType: 'application/json', body: JSON.stringify(fake) }));
    await page.waitForFunction("document.getElementById('hm-verdict')?.textContent === 'unhealthy'", undefined, { timeout: 5_000 });
    t.is(await page.getAttribute('#hm-verdict', 'class'), 'bad');
    t.is(await page.textContent('#hm-reasons'), 'execution client unreachable (2 calls failed): ECONNREFUSED');
    t.is(await page.textContent('#hm-standbys li'), 'node-b not ready @3');
    t.regex((await page.textContent('#hm-staying')) ?? '', /no ready standby/);
    fake = {
      ...fake,
      health: {
        ...fake.health,
        staying: 'stepping down',
        stepDowns: [{ at: '2026-12-02T07:01:02.000Z', reason: 'unhealthy: no block committed for 3.2 s', to: 'node-b' }],
      },
    };
    await page.waitForFunction("document.getElementById('hm-staying')?.textContent === 'stepping down'", undefined, { timeout: 5_000 });
    t.is(await page.textContent('#hm-stepdowns li'), '07:01:02 → node-b: unhealthy: no block committed for 3.2 s');
  } finally {
    await page.close();
  }
});

test.serial('without Redis the mempool is off; actor restarts wrap between entries on a narrow screen', async (t) => {
  const node = nodes.plain!;
  const page = await open(node, 360);
  try {
    await page.waitForFunction("document.getElementById('role')?.textContent?.startsWith('leader')", undefined, { timeout: 10_000 });
    t.is(await page.textContent('#mempool'), 'off (no --redis-addr)');
    t.is((await node.health()).body.mempool, null);
    // Each entry is one line inside its card ("builder 0", never "buil" / "der 0"), and the list does wrap.
    const layout = (await page.evaluate(`(() => {
      const card = document.getElementById('restarts').parentElement.getBoundingClientRect();
      const items = [...document.querySelectorAll('#restarts li')].map((li) => {
        const box = li.getBoundingClientRect();
        return { text: li.textContent, height: box.height, top: box.top, inside: box.left >= card.left && box.right <= card.right };
      });
      return { items, lineHeight: parseFloat(getComputedStyle(document.querySelector('#restarts li')).lineHeight) };
    })()`)) as { items: { text: string; height: number; top: number; inside: boolean }[]; lineHeight: number };
    t.true(layout.items.length >= 4, `one entry per actor: ${layout.items.map((i) => i.text).join(' | ')}`);
    for (const item of layout.items) {
      t.regex(item.text, /^\w+ \d+$/);
      t.true(item.height < layout.lineHeight * 1.5, `"${item.text}" is on one line (${item.height}px, line ${layout.lineHeight}px)`);
      t.true(item.inside, `"${item.text}" stays inside its card`);
    }
    t.true(new Set(layout.items.map((i) => Math.round(i.top))).size > 1, 'the list wraps between entries at 360 px');
    await page.waitForSelector('tr.block', { timeout: 10_000 });
    assertContiguous(t, await rows(page));
    const screenshot = join(node.dataDir, 'status-page-narrow.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    t.log(`screenshot: ${screenshot}`);
  } finally {
    await page.close();
  }
});
