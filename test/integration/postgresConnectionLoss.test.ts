import test from 'ava';
import pino from 'pino';
import { BlockStore } from '../../src/adapters/postgres/index.js';
import { createDatabase } from '../helpers/services.js';
import { TcpProxy } from '../helpers/tcpProxy.js';

/**
 * Regression for chaos seed 2 (redis lease), fault 1 "partitionPostgres on leader-2": the node
 * exited by itself when its PostgreSQL link dropped. postgres.js 3.4.9 has two ways to take the
 * process down on a dropped connection: a write deferred to `setImmediate` that runs after the
 * socket is gone (an uncaught TypeError; fixed by `patches/postgres+3.4.9.patch`, as upstream's
 * open PRs for porsager/postgres#1154/#1208 do), and the array-type fetch on every new connection,
 * whose failure nobody awaits (an unhandled rejection; the block store turns `fetch_types` off).
 * Here the block store keeps querying through a proxy that drops every connection over and over:
 * every call must settle, nothing may escape as uncaught (ava fails a test file on an unhandled
 * rejection), and the store must work once the link is back.
 */
test('chaos seed 2, fault 1 "partitionPostgres on leader-2": a PostgreSQL link dropping over and over fails calls, never the process', async (t) => {
  const db = await createDatabase();
  const url = new URL(db.url);
  const proxy = await TcpProxy.start({ host: url.hostname, port: Number(url.port || 5432) });
  url.host = proxy.address;
  const store = new BlockStore({ url: url.toString(), maxConnections: 4, connectTimeoutMs: 2_000 }, { logger: pino({ level: 'silent' }) });
  const uncaught: string[] = [];
  const onUncaught = (err: Error) => void uncaught.push(err.message);
  process.on('uncaughtException', onUncaught);
  try {
    await store.migrate();
    let failed = 0;
    let answered = 0;
    const cutter = setInterval(() => {
      proxy.cut('refuse');
      setTimeout(() => proxy.heal(), 5);
    }, 20);
    const deadline = Date.now() + 4_000;
    while (Date.now() < deadline) {
      // Small statements on several connections: their writes are the ones postgres.js defers.
      await Promise.all(
        Array.from({ length: 8 }, () =>
          store.head().then(
            () => answered++,
            () => failed++,
          ),
        ),
      );
      await new Promise((r) => setTimeout(r, 1));
    }
    clearInterval(cutter);
    proxy.heal();
    t.true(failed > 0, 'the drops hit calls in flight');
    t.true(answered > 0, 'calls between the drops were answered');
    t.deepEqual(uncaught, [], 'no uncaught exception');
    t.is(await store.head(), null, 'the store answers once the link is back');
  } finally {
    process.off('uncaughtException', onUncaught);
    await store.close();
    await proxy.close();
    await db.drop();
  }
});
