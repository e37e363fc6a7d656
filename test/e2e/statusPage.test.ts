import { join } from 'node:path';
import test from 'ava';
import { chromium } from 'playwright-core';
import { type BatonProcess, startBaton, waitFor } from '../helpers/batonProcess.js';
import { createDatabase } from '../helpers/services.js';

/** Debian's Chromium (never a downloaded browser), headless, with the flags this machine's closed network needs. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let node: BatonProcess | null = null;
let db: Awaited<ReturnType<typeof createDatabase>>;

test.after.always(async () => {
  await node?.stop();
  await db?.drop();
});

test('the status page shows the node and new blocks arriving live over the feed', async (t) => {
  db = await createDatabase();
  node = await startBaton({ args: ['--role', 'leader', '--postgres-url', db.url, '--instance-id', 'page-leader'] });
  await waitFor('the leader produces', async () => (await node!.health()).body.head?.number >= 1, 90_000);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(`${node.apiUrl}/`);
    // Page-side code as strings: this file is compiled without the DOM library.
    await page.waitForFunction("document.getElementById('role')?.textContent?.startsWith('leader')", undefined, { timeout: 10_000 });
    t.is(await page.textContent('#leader'), 'page-leader');
    t.is(await page.textContent('#health'), 'ok');
    const first = Number(await page.getAttribute('tr.block', 'data-number', { timeout: 15_000 }));
    await page.waitForFunction(`Number(document.querySelector('tr.block')?.getAttribute('data-number')) > ${first}`, undefined, { timeout: 15_000 });
    const latest = Number(await page.getAttribute('tr.block', 'data-number'));
    t.true(latest > first, `a newer block (${latest}) appeared after ${first}`);
    const screenshot = join(node.dataDir, 'status-page.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    t.log(`screenshot: ${screenshot}`);
  } finally {
    await browser.close();
  }
});
