/**
 * WebSocket JSON-RPC on a node's `/rpc`, driven by viem's webSocket transport as a dapp would: reads
 * answer as over HTTP, `eth_subscribe("newHeads")` delivers each committed block once and in order
 * in the EL's header shape, and subscriptions are bounded and can be cancelled. One embedded-default
 * leader (no Redis) serves the whole file.
 */
import test from 'ava';
import { createPublicClient, webSocket } from 'viem';
import WebSocket from 'ws';
import { signTransfer, testAccounts } from '../../src/adapters/executionClient/testAccounts.js';
import { type BatonProcess, startBaton, waitFor } from '../helpers/batonProcess.js';

let leader: BatonProcess;
let wsUrl: string;

test.before(async () => {
  leader = await startBaton({ args: ['--role', 'leader'] });
  await waitFor('the leader to commit a block', async () => Number((await leader.health()).body.head?.number ?? -1) >= 1, 120_000);
  wsUrl = `${leader.apiUrl.replace('http', 'ws')}/rpc`;
});

test.after.always(async () => {
  await leader?.stop();
});

/** A raw socket that answers one JSON-RPC request at a time (ignoring notifications). */
async function rawSocket(): Promise<{ ws: WebSocket; call: (body: unknown, raw?: boolean) => Promise<any> }> {
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const call = (body: unknown, raw = false) =>
    new Promise<any>((resolve) => {
      const onMessage = (data: Buffer) => {
        const msg = JSON.parse(data.toString());
        if (!Array.isArray(msg) && msg.method === 'eth_subscription') return;
        ws.off('message', onMessage);
        resolve(msg);
      };
      ws.on('message', onMessage);
      ws.send(raw ? String(body) : JSON.stringify(body));
    });
  return { ws, call };
}

test.serial('viem over WebSocket: reads answer, and newHeads delivers each committed block once, in order, as the EL shows its header', async (t) => {
  const client = createPublicClient({ transport: webSocket(wsUrl) });
  t.is(await client.getChainId(), 31337);
  t.true((await client.getBlockNumber()) >= 1n);
  const heads: { number: bigint; hash: string; parentHash: string; stateRoot: string }[] = [];
  const unwatch = client.watchBlocks({ onBlock: (block) => void heads.push(block as any), emitMissed: false });
  await waitFor('five newHeads', async () => heads.length >= 5, 60_000);
  unwatch();
  for (let i = 1; i < heads.length; i++) {
    t.is(heads[i]!.number, heads[i - 1]!.number + 1n, 'consecutive, no repeat, no gap');
    t.is(heads[i]!.parentHash, heads[i - 1]!.hash, 'each on its predecessor');
  }
  for (const head of heads.slice(0, 2)) {
    const res = await fetch(`${leader.apiUrl}/blocks/${head.number}`);
    t.is(res.status, 200, 'the announced block is committed');
    t.is(((await res.json()) as { block_hash: string }).block_hash, head.hash, 'the committed block at that height');
    t.regex(head.stateRoot, /^0x[0-9a-f]{64}$/);
  }
  await client.transport.getRpcClient().then((rpc) => rpc.close());
});

test.serial('raw eth_subscribe: Geth header fields, eth_unsubscribe, bad topics, and the per-connection bound', async (t) => {
  const { ws, call } = await rawSocket();
  const sub = await call({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] });
  t.regex(sub.result, /^0x[0-9a-f]{32}$/);
  t.log('subscribed');
  const note = await new Promise<any>((resolve) =>
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString());
      if (msg.method === 'eth_subscription') resolve(msg);
    }),
  );
  t.log('notified');
  t.is(note.params.subscription, sub.result);
  for (const field of [
    'number',
    'hash',
    'parentHash',
    'stateRoot',
    'receiptsRoot',
    'transactionsRoot',
    'logsBloom',
    'gasLimit',
    'gasUsed',
    'timestamp',
    'baseFeePerGas',
    'miner',
  ])
    t.true(field in note.params.result, `header has ${field}`);
  t.false('transactions' in note.params.result, 'a header, not a block');
  t.deepEqual(await call({ jsonrpc: '2.0', id: 2, method: 'eth_unsubscribe', params: [sub.result] }), { jsonrpc: '2.0', id: 2, result: true });
  t.deepEqual(await call({ jsonrpc: '2.0', id: 3, method: 'eth_unsubscribe', params: [sub.result] }), { jsonrpc: '2.0', id: 3, result: false });
  const bad = await call({ jsonrpc: '2.0', id: 4, method: 'eth_subscribe', params: ['logsOfEverything'] });
  t.is(bad.error.code, -32602);
  t.is((await call('{not json', true)).error.code, -32700, 'malformed JSON is a parse error, and the socket stays open');
  const ids = [];
  for (let i = 0; i < 100; i++) ids.push((await call({ jsonrpc: '2.0', id: 10 + i, method: 'eth_subscribe', params: ['newHeads'] })).result);
  t.true(
    ids.every((id) => typeof id === 'string'),
    '100 subscriptions fit',
  );
  const over = await call({ jsonrpc: '2.0', id: 999, method: 'eth_subscribe', params: ['newHeads'] });
  t.is(over.error.code, -32000, 'the 101st is refused');
  const batch = await call([
    { jsonrpc: '2.0', id: 'a', method: 'eth_unsubscribe', params: [ids[0]] },
    { jsonrpc: '2.0', id: 'b', method: 'eth_chainId', params: [] },
    { jsonrpc: '2.0', id: 'c', method: 'admin_peers', params: [] },
  ]);
  t.deepEqual(batch[0], { jsonrpc: '2.0', id: 'a', result: true });
  t.is(batch[1].result, '0x7a69', 'a forwarded read in the same batch');
  t.is(batch[2].error.code, -32601, 'a refused namespace is refused over WebSocket too');
  ws.close();
});

test.serial('newPendingTransactions: the hash of a transaction accepted on POST /rpc reaches the subscriber', async (t) => {
  const { ws, call } = await rawSocket();
  const sub = await call({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newPendingTransactions'] });
  t.regex(sub.result, /^0x[0-9a-f]{32}$/);
  const seen = new Promise<any>((resolve) =>
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString());
      if (msg.method === 'eth_subscription') resolve(msg.params);
    }),
  );
  const [from, to] = testAccounts().slice(7, 9);
  const nonce = await call({ jsonrpc: '2.0', id: 2, method: 'eth_getTransactionCount', params: [from!.address, 'pending'] });
  const tx = signTransfer({ from: from!, to: to!.address, valueWei: 1n, nonce: BigInt(nonce.result), chainId: 31337n });
  const res = await fetch(`${leader.apiUrl}/rpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'eth_sendRawTransaction', params: [tx.raw] }),
  });
  t.is(((await res.json()) as { result: string }).result, tx.hash);
  t.deepEqual(await seen, { subscription: sub.result, result: tx.hash });
  ws.close();
});
