import test from 'ava';
import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import {
  type BlockSource,
  createApiServer,
  createHealthServer,
  type HealthReport,
  HttpErrorCode,
  type HttpServer,
  readJsonBody,
} from '../../src/adapters/http/index.js';
import type { CommittedBlock, StoredBlock } from '../../src/types/block.js';

const logger = pino({ level: 'silent' });

/** A logger that keeps its entries, so a test can assert what the server logged. */
function capturingLogger(): { logger: typeof logger; entries: { level: number; msg: string }[] } {
  const entries: { level: number; msg: string }[] = [];
  return { entries, logger: pino({ level: 'warn' }, { write: (line: string) => entries.push(JSON.parse(line)) }) };
}

/**
 * An in-memory fake of the store's read side (the real store is tested in postgresStore.test.ts).
 * `failing` makes every call reject, as a store with its database down does; `gate` holds calls
 * until released, to abort a request while its handler waits on the store.
 */
class FakeBlockStore implements BlockSource {
  readonly blocks = new Map<bigint, StoredBlock>();
  failing = false;
  gate: Promise<void> | null = null;
  lastRangeLimit: number | undefined;

  add(number: bigint, overrides: Partial<StoredBlock> = {}): StoredBlock {
    const hex = (n: bigint) => `0x${n.toString(16).padStart(64, '0')}`;
    const block: StoredBlock = {
      number,
      hash: hex(number + 1000n),
      parentHash: hex(number + 999n),
      timestamp: 1_700_000_000n + number,
      txCount: Number(number % 7n),
      epoch: 3n,
      leader: 'node-a',
      payloadData: Uint8Array.from([1, 2, 3, Number(number % 256n)]),
      requestsData: Uint8Array.from([9]),
      createdAt: new Date('2025-01-02T03:04:05.678Z'),
      ...overrides,
    };
    this.blocks.set(number, block);
    return block;
  }

  private async call<T>(fn: () => T): Promise<T> {
    await this.gate;
    if (this.failing) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    return fn();
  }

  head(): Promise<CommittedBlock | null> {
    return this.call(() => {
      const numbers = [...this.blocks.keys()].sort((a, b) => (a < b ? -1 : 1));
      const top = numbers.at(-1);
      return top === undefined ? null : this.blocks.get(top)!;
    });
  }

  getByNumber(number: bigint): Promise<StoredBlock | null> {
    return this.call(() => this.blocks.get(number) ?? null);
  }

  getByHash(hash: string): Promise<StoredBlock | null> {
    return this.call(() => [...this.blocks.values()].find((b) => b.hash === hash.toLowerCase()) ?? null);
  }

  range(afterNumber: bigint, limit: number): Promise<StoredBlock[]> {
    this.lastRangeLimit = limit;
    return this.call(() =>
      [...this.blocks.values()]
        .filter((b) => b.number > afterNumber)
        .sort((a, b) => (a.number < b.number ? -1 : 1))
        .slice(0, limit),
    );
  }
}

interface Servers {
  store: FakeBlockStore;
  health: { report: HealthReport };
  api: HttpServer;
  apiUrl: string;
  healthUrl: string;
  registry: Registry;
  /** What the API server logged at warn and above. */
  apiLog: { level: number; msg: string }[];
}

async function start(t: { teardown(fn: () => void): void }, apiOpts: { maxPageBytes?: number } = {}): Promise<Servers> {
  const store = new FakeBlockStore();
  const registry = new Registry();
  new Counter({ name: 'baton_test_requests_total', help: 'test counter', registers: [registry] }).inc(3);
  const health = { report: { healthy: true, body: { role: 'leader', epoch: 7n, huge: 2n ** 60n } } as HealthReport };
  const healthServer = createHealthServer({ host: '127.0.0.1', port: 0 }, { logger, registry, health: () => health.report });
  const apiLog = capturingLogger();
  const api = createApiServer({ host: '127.0.0.1', port: 0, ...apiOpts }, { logger: apiLog.logger, store });
  api.post('/echo', async (reply) => {
    const body = readJsonBody(reply, 1024);
    reply.json(200, { echo: await body });
  });
  const [apiPort, healthPort] = await Promise.all([api.listen(), healthServer.listen()]);
  t.teardown(() => {
    api.close();
    healthServer.close();
  });
  return { store, health, api, registry, apiLog: apiLog.entries, apiUrl: `http://127.0.0.1:${apiPort}`, healthUrl: `http://127.0.0.1:${healthPort}` };
}

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: res.headers.get('content-type') === 'application/json' ? JSON.parse(text) : text };
}

test('port 0 reports the real port; a taken port fails to listen; close stops serving', async (t) => {
  const { api, apiUrl } = await start(t);
  t.true(api.port > 0);
  t.is(apiUrl, `http://127.0.0.1:${api.port}`);
  const clash = createApiServer({ host: '127.0.0.1', port: api.port }, { logger, store: new FakeBlockStore() });
  const err = await t.throwsAsync(clash.listen());
  t.like(err, { code: HttpErrorCode.LISTEN_FAILED });
  t.throws(() => clash.port, { message: 'api server is not listening yet' });
  clash.close();
  api.close();
  await t.throwsAsync(fetch(`${apiUrl}/blocks/latest`));
});

test('GET /health: 200 when healthy, 503 when not, bigints as JSON', async (t) => {
  const { health, healthUrl } = await start(t);
  const ok = await getJson(`${healthUrl}/health`);
  t.is(ok.status, 200);
  t.deepEqual(ok.body, { role: 'leader', epoch: 7, huge: '1152921504606846976' });
  health.report = { healthy: false, body: { halted: 'INVALID payload at 12' } };
  const bad = await getJson(`${healthUrl}/health`);
  t.is(bad.status, 503);
  t.deepEqual(bad.body, { halted: 'INVALID payload at 12' });
});

test('GET /metrics serves the registry in its content type', async (t) => {
  const { healthUrl, registry } = await start(t);
  const res = await fetch(`${healthUrl}/metrics`);
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), registry.contentType);
  t.regex(await res.text(), /^baton_test_requests_total 3$/m);
});

test("GET /blocks/latest: 404 before the first block, then the highest block with the seed's fields", async (t) => {
  const { store, apiUrl } = await start(t);
  const empty = await getJson(`${apiUrl}/blocks/latest`);
  t.is(empty.status, 404);
  t.deepEqual(empty.body, { error: { code: 'NOT_FOUND', message: 'no block committed yet' } });
  store.add(1n);
  const top = store.add(2n, { epoch: 2n ** 60n });
  const res = await getJson(`${apiUrl}/blocks/latest`);
  t.is(res.status, 200);
  t.deepEqual(res.body, {
    block_number: 2,
    block_hash: top.hash,
    parent_hash: top.parentHash,
    payload_data: Buffer.from([1, 2, 3, 2]).toString('base64'),
    requests_data: Buffer.from([9]).toString('base64'),
    timestamp: 1_700_000_002,
    epoch: '1152921504606846976',
    leader: 'node-a',
    tx_count: 2,
    created_at: '2025-01-02T03:04:05.678Z',
  });
});

test('GET /blocks/{number} and /blocks/{hash}; unknown ones are 404, malformed ones 400', async (t) => {
  const { store, apiUrl } = await start(t);
  const block = store.add(5n);
  t.is((await getJson(`${apiUrl}/blocks/5`)).body.block_hash, block.hash);
  t.is((await getJson(`${apiUrl}/blocks/${block.hash}`)).body.block_number, 5);
  t.is((await getJson(`${apiUrl}/blocks/${block.hash.toUpperCase().replace('0X', '0x')}`)).body.block_number, 5, 'hash lookup ignores case');

  const missingNumber = await getJson(`${apiUrl}/blocks/6`);
  t.is(missingNumber.status, 404);
  t.deepEqual(missingNumber.body, { error: { code: 'NOT_FOUND', message: 'block 6 not found' } });
  const missingHash = await getJson(`${apiUrl}/blocks/0x${'ab'.repeat(32)}`);
  t.is(missingHash.status, 404);
  t.is(missingHash.body.error.code, 'NOT_FOUND');

  for (const id of ['abc', '-1', '1.5', '0x1234', `0x${'zz'.repeat(32)}`, '9223372036854775808']) {
    const res = await getJson(`${apiUrl}/blocks/${id}`);
    t.is(res.status, 400, id);
    t.is(res.body.error.code, 'BAD_REQUEST', id);
  }
  t.is((await getJson(`${apiUrl}/blocks/9223372036854775807`)).status, 404, 'the largest BIGINT is a valid number');
});

test('GET /blocks?after&limit: pages in order, default limit 100, clamps above 1000', async (t) => {
  const { store, apiUrl } = await start(t);
  for (let n = 0n; n < 1200n; n++) store.add(n);
  const page = await getJson(`${apiUrl}/blocks?after=10&limit=3`);
  t.is(page.status, 200);
  t.deepEqual(
    page.body.map((b: { block_number: number }) => b.block_number),
    [11, 12, 13],
  );

  const fromStart = await getJson(`${apiUrl}/blocks`);
  t.is(fromStart.body.length, 100, 'default limit');
  t.is(fromStart.body[0].block_number, 0, 'no `after`: from the first committed block');

  const clamped = await getJson(`${apiUrl}/blocks?after=0&limit=5000`);
  t.is(store.lastRangeLimit, 1000);
  t.is(clamped.body.length, 1000);
  t.is(clamped.body[999].block_number, 1000);

  t.deepEqual((await getJson(`${apiUrl}/blocks?after=1199`)).body, [], 'past the head: an empty page');
});

test('GET /blocks: bad after/limit are 400 with a JSON error', async (t) => {
  const { apiUrl } = await start(t);
  const bad = [
    'after=-1',
    'after=abc',
    'after=1.5',
    'after=',
    'after=1e3',
    'limit=0',
    'limit=-3',
    'limit=abc',
    'limit=2.5',
    'limit=',
    'after=99999999999999999999',
  ];
  for (const query of bad) {
    const res = await getJson(`${apiUrl}/blocks?${query}`);
    t.is(res.status, 400, query);
    t.is(res.body.error.code, 'BAD_REQUEST', query);
    t.regex(res.body.error.message, /^(after|limit) must be/, query);
  }
});

test('GET /blocks: a page stops at maxPageBytes but always holds one block', async (t) => {
  const { store, apiUrl } = await start(t, { maxPageBytes: 700 });
  for (let n = 1n; n <= 5n; n++) store.add(n);
  const res = await getJson(`${apiUrl}/blocks?after=0&limit=5`);
  t.true(res.body.length >= 1 && res.body.length < 5, `got ${res.body.length} blocks`);
  t.true(JSON.stringify(res.body).length <= 700 || res.body.length === 1);
});

test('unknown routes are 404 and other methods 405 with Allow, all as JSON', async (t) => {
  const { apiUrl, healthUrl } = await start(t);
  for (const url of [`${apiUrl}/nope`, `${apiUrl}/blocks/`, `${apiUrl}/blocks/1/extra`, `${healthUrl}/`]) {
    const res = await getJson(url);
    t.is(res.status, 404, url);
    t.deepEqual(res.body, { error: { code: 'NOT_FOUND', message: 'no such route' } }, url);
  }
  for (const [method, url] of [
    ['POST', `${apiUrl}/blocks/1`],
    ['DELETE', `${apiUrl}/blocks`],
    ['PUT', `${healthUrl}/health`],
    ['GET', `${apiUrl}/echo`],
  ] as const) {
    const res = await getJson(url, { method });
    t.is(res.status, 405, `${method} ${url}`);
    t.is(res.body.error.code, 'METHOD_NOT_ALLOWED');
    t.is(res.headers.get('allow'), method === 'GET' ? 'POST' : 'GET');
  }
});

test('a failing store is a 503, logged, and the server keeps serving', async (t) => {
  const { store, apiUrl, apiLog } = await start(t);
  store.add(1n);
  store.failing = true;
  for (const path of ['/blocks/latest', '/blocks/1', `/blocks/0x${'00'.repeat(32)}`, '/blocks?after=0']) {
    const res = await getJson(`${apiUrl}${path}`);
    t.is(res.status, 503, path);
    t.deepEqual(res.body, { error: { code: 'STORE_UNAVAILABLE', message: 'block store unavailable, retry later' } }, path);
  }
  t.deepEqual(
    apiLog.map((e) => `${e.level} ${e.msg}`),
    Array(4).fill('40 Block store read failed'),
  );
  store.failing = false;
  t.is((await getJson(`${apiUrl}/blocks/1`)).status, 200);
});

test('a request aborted while the store is slow is never answered, and the server keeps serving', async (t) => {
  const { store, apiUrl, apiLog } = await start(t);
  store.add(1n);
  let release!: () => void;
  store.gate = new Promise((resolve) => (release = resolve));
  const controller = new AbortController();
  const aborted = fetch(`${apiUrl}/blocks/1`, { signal: controller.signal });
  await new Promise((resolve) => setTimeout(resolve, 50));
  controller.abort();
  t.is(
    await aborted.then(
      () => 'answered',
      (err: Error) => err.name,
    ),
    'AbortError',
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  release();
  store.gate = null;
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.deepEqual(apiLog, [], 'no write was attempted on the aborted response (uWS throws on one)');
  t.is((await getJson(`${apiUrl}/blocks/1`)).status, 200);
});

test('a handler bug is a logged 500 without details, thrown synchronously or not', async (t) => {
  const { api, apiUrl, apiLog } = await start(t);
  api.get('/bug/sync', () => {
    throw new Error('secret detail');
  });
  api.get('/bug/async', async () => {
    await Promise.resolve();
    throw new Error('secret detail');
  });
  for (const path of ['/bug/sync', '/bug/async']) {
    const res = await getJson(`${apiUrl}${path}`);
    t.is(res.status, 500, path);
    t.deepEqual(res.body, { error: { code: 'INTERNAL', message: 'internal error' } }, path);
  }
  t.deepEqual(
    apiLog.map((e) => `${e.level} ${e.msg}`),
    ['50 HTTP handler failed', '50 HTTP handler failed'],
  );
});

test('readJsonBody: a route added to the API server parses JSON, refuses bad JSON (400) and big bodies (413)', async (t) => {
  const { apiUrl } = await start(t);
  const post = (body: string) => getJson(`${apiUrl}/echo`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const ok = await post(JSON.stringify({ jsonrpc: '2.0', id: 1 }));
  t.is(ok.status, 200);
  t.deepEqual(ok.body, { echo: { jsonrpc: '2.0', id: 1 } });
  const invalid = await post('{nope');
  t.is(invalid.status, 400);
  t.is(invalid.body.error.code, 'INVALID_JSON');
  const large = await post(JSON.stringify({ data: 'x'.repeat(5_000) }));
  t.is(large.status, 413);
  t.deepEqual(large.body, { error: { code: 'PAYLOAD_TOO_LARGE', message: 'request body exceeds 1024 bytes' } });
  t.is((await post('[1,2]')).status, 200, 'the server still answers after a 413');
});
