import test from 'ava';
import { pino } from 'pino';
import type { MempoolSizes } from '../../../src/types/mempool.js';
import { healthReport } from '../../../src/node/health.js';
import { startMempoolProbe } from '../../../src/node/mempoolProbe.js';
import { StatusBoard } from '../../../src/node/status.js';

const logger = pino({ level: 'silent' });
const board = () => new StatusBoard({ role: 'leader', instanceId: 'n', leaseBackend: 'file' });
const sizes = (pending: number): MempoolSizes => ({ pending, inflight: 1, finalized: 2, dropped: 3 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('without a mempool /health reports mempool: null', (t) => {
  t.is((healthReport(board(), {}, {}).body as { mempool: unknown }).mempool, null);
});

test('the first read is in /health once the probe has started, later reads replace it', async (t) => {
  const status = board();
  let pending = 0;
  const probe = await startMempoolProbe({ sizes: async () => sizes(++pending) }, status, logger, 20);
  t.teardown(() => probe.abort());
  t.deepEqual((healthReport(status, {}, {}).body as { mempool: unknown }).mempool, sizes(1));
  await sleep(100);
  t.true(status.current.mempool!.pending > 1, `refreshed in the background (pending ${status.current.mempool!.pending})`);
});

test('a failed read keeps the last known sizes, and a slow read is never doubled up', async (t) => {
  const status = board();
  let calls = 0;
  let release: () => void = () => {};
  const mempool = {
    sizes: async () => {
      calls++;
      if (calls === 1) return sizes(7);
      if (calls === 2) throw new Error('Redis down');
      // Third read hangs until released: the interval keeps firing meanwhile.
      await new Promise<void>((resolve) => (release = resolve));
      return sizes(9);
    },
  };
  const probe = await startMempoolProbe(mempool, status, logger, 10);
  t.teardown(() => probe.abort());
  await sleep(100);
  t.deepEqual(status.current.mempool, sizes(7), 'the failed read left the values');
  t.is(calls, 3, 'no new read while one is in flight');
  release();
  await sleep(5);
  t.deepEqual(status.current.mempool, sizes(9));
});

test('a first read that hangs does not hold up the start for more than one interval', async (t) => {
  const status = board();
  const started = Date.now();
  const probe = await startMempoolProbe({ sizes: () => new Promise<MempoolSizes>(() => {}) }, status, logger, 50);
  probe.abort();
  t.true(Date.now() - started < 500);
  t.is(status.current.mempool, null);
});
