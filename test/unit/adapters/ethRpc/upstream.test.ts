import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { JsonRpcUpstream } from '../../../../src/adapters/ethRpc/upstream.js';
import { JsonRpcErrorCode } from '../../../../src/adapters/http/jsonRpc.js';

/** A loopback HTTP server answering each request with `answer`; resolves with its URL and the requests it saw. */
async function serve(answer: (req: IncomingMessage, body: string, res: ServerResponse) => void, setup: (server: Server) => void = () => {}) {
  const seen: Array<{ body: string; headers: IncomingMessage['headers'] }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push({ body, headers: req.headers });
      answer(req, body, res);
    });
  });
  setup(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { url, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

test('the body goes upstream as sent, with the extra headers, and the answer comes back as text', async (t) => {
  const upstream = await serve((_req, body, res) => res.end(`{"jsonrpc":"2.0","id":7,"result":${JSON.stringify(body.length)}}`));
  t.teardown(upstream.close);
  const rpc = new JsonRpcUpstream(upstream.url, { 'x-baton-forwarded': '1' });
  const body = '{"jsonrpc":"2.0","id":7,"method":"eth_blockNumber","params":[]}';
  t.is(await rpc.send(body), `{"jsonrpc":"2.0","id":7,"result":${body.length}}`);
  t.is(upstream.seen[0]?.body, body);
  t.is(upstream.seen[0]?.headers['x-baton-forwarded'], '1');
  t.is(upstream.seen[0]?.headers['content-type'], 'application/json');
});

test("an upstream JSON-RPC error is rethrown with the upstream's code, message and data, even on an HTTP error status", async (t) => {
  const upstream = await serve((_req, _body, res) => {
    res.statusCode = 500;
    res.end('{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"nonce too low","data":"0x01"}}');
  });
  t.teardown(upstream.close);
  const err = await t.throwsAsync(new JsonRpcUpstream(upstream.url).call('eth_sendRawTransaction', ['0x00']));
  t.like(err, { rpcCode: -32000, message: 'nonce too low', data: '0x01' });
});

test('an HTTP error without JSON, a closed port and a silent upstream are UPSTREAM_UNAVAILABLE naming the upstream', async (t) => {
  const html = await serve((_req, _body, res) => {
    res.statusCode = 502;
    res.end('<html>bad gateway</html>');
  });
  t.teardown(html.close);
  const silent = await serve(() => {});
  t.teardown(silent.close);
  const closed = await serve(() => {});
  await closed.close();

  for (const [url, reason] of [
    [html.url, /HTTP 502/],
    [closed.url, /ECONNREFUSED/],
    [silent.url, /no answer within 300 ms/],
  ] as const) {
    const err = await t.throwsAsync(new JsonRpcUpstream(url, {}, 300).send('{}'));
    t.like(err, { rpcCode: JsonRpcErrorCode.UPSTREAM_UNAVAILABLE });
    t.true(err.message.startsWith(`${url} did not answer`), err.message);
    t.regex(err.message, reason);
  }
});

test('kept-alive sockets that the upstream closed while idle are not reused: the next call still answers', async (t) => {
  const upstream = await serve(
    (_req, _body, res) => res.end('{"jsonrpc":"2.0","id":1,"result":"0x1"}'),
    (server) => {
      server.keepAliveTimeout = 100;
    },
  );
  t.teardown(upstream.close);
  const rpc = new JsonRpcUpstream(upstream.url);
  t.is(await rpc.call('eth_blockNumber', []), '0x1');
  await new Promise((resolve) => setTimeout(resolve, 400));
  t.is(await rpc.call('eth_blockNumber', []), '0x1');
  t.is(upstream.seen.length, 2);
});
