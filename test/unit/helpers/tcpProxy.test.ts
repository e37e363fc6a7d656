import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { TcpProxy } from '../../helpers/tcpProxy.js';

/** A loopback server that records when each chunk arrives, what it says, and answers "ok:<chunk>". */
async function recordingServer(): Promise<{ server: Server; port: number; arrivals: Array<{ at: number; text: string }>; sockets: Set<Socket> }> {
  const arrivals: Array<{ at: number; text: string }> = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk) => {
      arrivals.push({ at: performance.now(), text: String(chunk) });
      socket.write(`ok:${chunk}`);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, arrivals, sockets };
}

/** A recording upstream and a proxy in front of it, both closed when the test ends. */
async function setup(t: ExecutionContext) {
  const upstream = await recordingServer();
  const proxy = await TcpProxy.start({ port: upstream.port });
  t.teardown(async () => {
    await proxy.close();
    for (const s of upstream.sockets) s.destroy();
    await new Promise<void>((resolve) => upstream.server.close(() => resolve()));
  });
  return { upstream, proxy };
}

async function client(proxy: TcpProxy): Promise<Socket> {
  const socket = connect(proxy.port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

async function until(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('without a delay a request is forwarded and answered', async (t) => {
  const { upstream, proxy } = await setup(t);
  const socket = await client(proxy);
  socket.write('ping');
  const [answer] = await once(socket, 'data');
  t.is(String(answer), 'ok:ping');
  t.deepEqual(
    upstream.arrivals.map((a) => a.text),
    ['ping'],
  );
  t.is(proxy.connections, 1);
  socket.destroy();
});

test('a per-chunk delay: a delayed request arrives no earlier than the delay drawn for it', async (t) => {
  const { upstream, proxy } = await setup(t);
  const DELAY_MS = 300;
  proxy.setDelay(() => DELAY_MS);
  const socket = await client(proxy);
  const sentAt = performance.now();
  socket.write('ping');
  const [answer] = await once(socket, 'data');
  const answeredAt = performance.now();
  t.is(String(answer), 'ok:ping');
  const arrivedAfter = upstream.arrivals[0]!.at - sentAt;
  t.true(arrivedAfter >= DELAY_MS, `the request arrived ${arrivedAfter.toFixed(1)} ms after it was sent, before the ${DELAY_MS} ms delay`);
  // The answer is a chunk too: it waits its own delay on the way back.
  t.true(answeredAt - sentAt >= 2 * DELAY_MS, `answered after ${(answeredAt - sentAt).toFixed(1)} ms, less than both ways' delay`);
  socket.destroy();
});

test('per-chunk delays never reorder a connection: a short one waits for the long one before it', async (t) => {
  const { upstream, proxy } = await setup(t);
  const delays = [250, 0];
  proxy.setDelay(() => delays.shift() ?? 0);
  const socket = await client(proxy);
  const sentAt = performance.now();
  socket.write('first');
  await new Promise((resolve) => setTimeout(resolve, 50)); // two separate chunks
  socket.write('second');
  await until('both chunks upstream', () => upstream.arrivals.map((a) => a.text).join('') === 'firstsecond');
  t.true(upstream.arrivals[0]!.at - sentAt >= 250, 'the first chunk waited its delay');
  t.true(upstream.arrivals.at(-1)!.at >= upstream.arrivals[0]!.at, 'the second did not overtake it');
  socket.destroy();
});

test('a per-connection delay is drawn once for each connection, live ones included, and delays every chunk of it', async (t) => {
  const { upstream, proxy } = await setup(t);
  const early = await client(proxy);
  await until('the early connection forwarded', () => proxy.connections === 1);
  const draws: number[] = [];
  const perConnection = [200, 400];
  proxy.setDelay(() => {
    const ms = perConnection[draws.length] ?? 0;
    draws.push(ms);
    return ms;
  }, 'connection');
  t.deepEqual(draws, [200], 'the live connection got its draw at once');
  const late = await client(proxy);
  await until('the late connection forwarded', () => proxy.connections === 2);
  t.deepEqual(draws, [200, 400], 'a new connection draws its own');

  for (const [socket, ms] of [
    [early, 200],
    [late, 400],
  ] as const) {
    for (const text of ['a', 'b']) {
      const before = upstream.arrivals.length;
      const sentAt = performance.now();
      socket.write(`${ms}${text}`);
      await until(`chunk ${ms}${text} upstream`, () => upstream.arrivals.length > before);
      const took = upstream.arrivals.at(-1)!.at - sentAt;
      t.true(took >= ms, `chunk ${ms}${text} arrived after ${took.toFixed(1)} ms, before its connection's ${ms} ms`);
    }
  }
  t.deepEqual(draws, [200, 400], 'no draw per chunk');

  proxy.setDelay(null);
  const sentAt = performance.now();
  early.write('now');
  await until('the undelayed chunk upstream', () => upstream.arrivals.at(-1)?.text === 'now');
  t.true(upstream.arrivals.at(-1)!.at - sentAt < 200, 'setDelay(null) ends the delay');
  early.destroy();
  late.destroy();
});

test('cut() destroys open connections and blackholes new ones; heal() forwards again', async (t) => {
  const { upstream, proxy } = await setup(t);
  const socket = await client(proxy);
  await until('forwarded', () => proxy.connections === 1);
  const closed = once(socket, 'close');
  proxy.cut();
  await closed;
  t.true(proxy.isCut);
  t.is(proxy.connections, 0);

  const blackholed = await client(proxy);
  blackholed.write('lost');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.deepEqual(upstream.arrivals, [], 'nothing reaches upstream while cut');
  const blackholedClosed = once(blackholed, 'close');
  proxy.heal();
  await blackholedClosed;

  const fresh = await client(proxy);
  fresh.write('back');
  t.is(String((await once(fresh, 'data'))[0]), 'ok:back');
  fresh.destroy();
});

test("cut('hold') keeps connections open and holds their bytes; heal() delivers them late, in order", async (t) => {
  const { upstream, proxy } = await setup(t);
  const socket = await client(proxy);
  await until('forwarded', () => proxy.connections === 1);
  proxy.cut('hold');
  socket.write('one');
  await new Promise((resolve) => setTimeout(resolve, 30));
  socket.write('two');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.deepEqual(upstream.arrivals, [], 'held, not delivered');
  t.is(proxy.connections, 1, 'the connection stays open');
  proxy.heal();
  await until('the held bytes upstream', () => upstream.arrivals.map((a) => a.text).join('') === 'onetwo');
  t.false(socket.destroyed);
  socket.destroy();
});

test('a chunk still delayed when its sender closes is delivered before the other side is closed', async (t) => {
  const { upstream, proxy } = await setup(t);
  proxy.setDelay(() => 150);
  const socket = await client(proxy);
  socket.end('last words');
  await until('the delayed chunk upstream', () => upstream.arrivals.length > 0);
  t.is(upstream.arrivals[0]!.text, 'last words');
});
