/**
 * Wallets and dapps against a Baton node's `POST /rpc`, driven by the real client libraries (viem,
 * ethers) as a dapp drives them: no hand-built transactions, no `gas` passed. Two clusters, started
 * once for the file: a leader and a member (own database) sharing Redis (the shared mempool), and
 * a node on the embedded default (no Redis, PGlite), whose writes go to its own EL.
 */
import test from 'ava';
import { JsonRpcProvider, Wallet } from 'ethers';
import { Redis } from 'ioredis';
import { createPublicClient, createWalletClient, type Hash, http, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { anvil } from 'viem/chains';
import { testAccounts } from '../../src/adapters/executionClient/testAccounts.js';
import { type BatonProcess, producing, sharedMempoolArgs, startBaton, waitFor } from '../helpers/batonProcess.js';
import { createDatabase, deleteRedisPrefix, REDIS_ADDR, uniqueRedisPrefix } from '../helpers/services.js';

/** The embedded EL builds and replays slowly under load: receipts are waited for generously. */
const RECEIPT_TIMEOUT_MS = 120_000;
const prefix = uniqueRedisPrefix();
const redis = new Redis(`redis://${REDIS_ADDR}`);
type Db = Awaited<ReturnType<typeof createDatabase>>;
let leaderDb: Db;
let memberDb: Db;
const nodes: Record<'leader' | 'member' | 'embedded', BatonProcess | null> = { leader: null, member: null, embedded: null };
const accounts = testAccounts();
/** A fresh recipient per test, so a balance read says what that test sent. */
const recipient = (n: number) => `0x${n.toString(16).padStart(40, '0')}` as const;

/** Three blocks without a transaction before the watcher judges it: the gap and fee tests need not wait ten. */
const withRedis = () => [...sharedMempoolArgs(REDIS_ADDR, prefix), '--mempool-max-non-confirmations', '3'];

test.before(async () => {
  [leaderDb, memberDb] = await Promise.all([createDatabase('baton_ethrpc'), createDatabase('baton_ethrpc')]);
  [nodes.leader, nodes.embedded] = await Promise.all([
    startBaton({ args: ['--role', 'leader', '--instance-id', 'rpc-leader', '--postgres-url', leaderDb.url, ...withRedis()] }),
    startBaton({ args: ['--role', 'leader', '--instance-id', 'rpc-embedded'] }),
  ]);
  await waitFor('the leaders produce', async () => (await producing(nodes.leader!)) && (await producing(nodes.embedded!)), 120_000);
  nodes.member = await startBaton({ args: ['--role', 'member', '--instance-id', 'rpc-member', '--postgres-url', memberDb.url, ...withRedis()] });
  await waitFor('the member syncs', async () => (await nodes.member!.health()).status === 200, 120_000);
});

test.after.always(async () => {
  await Promise.all(Object.values(nodes).map((n) => n?.stop()));
  await deleteRedisPrefix(redis, prefix);
  redis.disconnect();
  await Promise.all([leaderDb?.drop(), memberDb?.drop()]);
});

function viem(node: BatonProcess, accountIndex: number) {
  const transport = http(`${node.apiUrl}/rpc`, { timeout: 30_000 });
  const account = privateKeyToAccount(accounts[accountIndex]!.privateKey as Hash);
  return {
    account,
    wallet: createWalletClient({ account, chain: anvil, transport }),
    reader: createPublicClient({ chain: anvil, transport, pollingInterval: 500 }),
  };
}

/**
 * Two transfers in a row through `node`'s `/rpc`, as a wallet sends them (viem fills nonce, fees
 * and gas from the node): consecutive nonces, both receipts successful, balances and the nonce
 * read back through the same endpoint.
 */
async function twoTransfersInARow(t: import('ava').ExecutionContext, node: BatonProcess, accountIndex: number, to: `0x${string}`): Promise<void> {
  const { account, wallet, reader } = viem(node, accountIndex);
  const before = await reader.getTransactionCount({ address: account.address });
  const first = await wallet.sendTransaction({ to, value: parseEther('1') });
  const held = await reader.getTransaction({ hash: first });
  t.is(held.hash, first, 'the first transfer is known at once, held or already committed');
  t.is(await reader.getTransactionCount({ address: account.address, blockTag: 'pending' }), before + 1, 'pending counts the held transfer');
  const second = await wallet.sendTransaction({ to, value: parseEther('2') });
  const receipts = await Promise.all([first, second].map((hash) => reader.waitForTransactionReceipt({ hash, timeout: RECEIPT_TIMEOUT_MS })));
  t.deepEqual(
    receipts.map((r) => r.status),
    ['success', 'success'],
  );
  const [tx1, tx2] = await Promise.all([reader.getTransaction({ hash: first }), reader.getTransaction({ hash: second })]);
  t.deepEqual([tx1.nonce, tx2.nonce], [before, before + 1], 'consecutive nonces');
  t.truthy(tx1.blockHash, 'committed: the block hash is set');
  t.is(await reader.getBalance({ address: to }), parseEther('3'));
  t.is(await reader.getTransactionCount({ address: account.address }), before + 2);
}

test.serial("viem: two transfers in a row through the leader's /rpc (shared mempool) get consecutive nonces and receipts", async (t) => {
  t.timeout(300_000);
  await twoTransfersInARow(t, nodes.leader!, 0, recipient(0xa1));
});

test.serial("viem: the same through a member's /rpc; its reads come from its own replica EL", async (t) => {
  t.timeout(300_000);
  await twoTransfersInARow(t, nodes.member!, 1, recipient(0xa2));
  const elRpcUrl: string = (await nodes.member!.health()).body.executionClient.rpcUrl;
  const replica = createPublicClient({ chain: anvil, transport: http(elRpcUrl) });
  t.is(await replica.getBalance({ address: recipient(0xa2) }), parseEther('3'), "the member's own EL has the transfers");
});

test.serial('ethers: a wallet sends a transfer, waits for it and reads the balance', async (t) => {
  t.timeout(300_000);
  const provider = new JsonRpcProvider(`${nodes.member!.apiUrl}/rpc`, undefined, { staticNetwork: true });
  provider.pollingInterval = 500;
  const wallet = new Wallet(accounts[2]!.privateKey, provider);
  t.is((await provider.getNetwork()).chainId, 31337n);
  const sent = await wallet.sendTransaction({ to: recipient(0xa3), value: 5n });
  const receipt = await sent.wait(1, RECEIPT_TIMEOUT_MS);
  t.is(receipt?.status, 1);
  t.is(await provider.getBalance(recipient(0xa3)), 5n);
  t.is(await provider.getTransactionCount(wallet.address, 'latest'), sent.nonce + 1);
  provider.destroy();
});

test.serial("the embedded default without Redis accepts a transaction: it goes to the leader's EL", async (t) => {
  t.timeout(300_000);
  const { wallet, reader } = viem(nodes.embedded!, 3);
  const hash = await wallet.sendTransaction({ to: recipient(0xa4), value: 7n });
  const receipt = await reader.waitForTransactionReceipt({ hash, timeout: RECEIPT_TIMEOUT_MS });
  t.is(receipt.status, 'success');
  t.is(await reader.getBalance({ address: recipient(0xa4) }), 7n);
});

type TxStatusAnswer = { status: string; reason?: string };
/** `baton_txStatus` through viem's transport: the Baton method beside the Ethereum ones. */
const txStatus = (node: BatonProcess, hash: Hash) =>
  viem(node, 0).reader.request({ method: 'baton_txStatus' as 'eth_chainId', params: [hash] as never }) as unknown as Promise<TxStatusAnswer>;

/** The sum of a counter over the nodes sharing the mempool: whichever holds the watcher lock counts. */
async function counterSum(name: string): Promise<number> {
  let sum = 0;
  for (const node of [nodes.leader!, nodes.member!]) {
    const text = await (await fetch(`${node.healthUrl}/metrics`)).text();
    sum += Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  }
  return sum;
}

test.serial('viem: a nonce-gapped transfer waits queued, not resubmitted, until its gap is filled; then both are included', async (t) => {
  t.timeout(300_000);
  const { account, wallet, reader } = viem(nodes.leader!, 4);
  const next = await reader.getTransactionCount({ address: account.address });
  const gapped = await wallet.sendTransaction({ to: recipient(0xb1), value: 1n, nonce: next + 1 });
  await waitFor('the gapped transfer is queued', async () => (await txStatus(nodes.leader!, gapped)).status === 'queued', 120_000);
  const queued = await txStatus(nodes.member!, gapped);
  t.is(queued.status, 'queued', 'every node sees the shared state');
  t.regex(queued.reason ?? '', new RegExp(`nonce gap: address ${account.address.toLowerCase()}, tx: ${next + 1} waits for nonce ${next}`));
  const requeued = await counterSum('baton_mempool_requeued_total');
  const head = await reader.getBlockNumber();
  await waitFor('five more blocks', async () => (await reader.getBlockNumber()) >= head + 5n, 60_000);
  t.is((await txStatus(nodes.leader!, gapped)).status, 'queued', 'still waiting');
  t.is(await counterSum('baton_mempool_requeued_total'), requeued, 'not taken, so not sent back, block after block');
  t.is(await reader.getTransactionCount({ address: account.address, blockTag: 'pending' }), next, 'pending counts no nonce past the gap');

  const filler = await wallet.sendTransaction({ to: recipient(0xb1), value: 2n, nonce: next });
  const receipts = await Promise.all([filler, gapped].map((hash) => reader.waitForTransactionReceipt({ hash, timeout: RECEIPT_TIMEOUT_MS })));
  t.deepEqual(
    receipts.map((r) => r.status),
    ['success', 'success'],
  );
  t.is(await reader.getBalance({ address: recipient(0xb1) }), 3n);
  await waitFor('the gapped one finalized', async () => (await txStatus(nodes.leader!, gapped)).status === 'finalized', 60_000);
});

test.serial('viem: a transfer whose fee cap is below the base fee is dropped with the reason, and the sender can go on', async (t) => {
  t.timeout(300_000);
  const { account, wallet, reader } = viem(nodes.leader!, 5);
  const next = await reader.getTransactionCount({ address: account.address });
  // With the gas given, as a script or a bot sends it: viem's own estimate would already fail at the EL.
  const cheap = await wallet.sendTransaction({ to: recipient(0xb2), value: 1n, gas: 21_000n, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n });
  await waitFor('the underpriced transfer is dropped', async () => (await txStatus(nodes.leader!, cheap)).status === 'dropped', 120_000);
  t.regex(
    (await txStatus(nodes.leader!, cheap)).reason ?? '',
    new RegExp(`^max fee per gas less than block base fee: address ${account.address.toLowerCase()}, maxFeePerGas: 1, baseFee: \\d+$`),
  );
  t.is(await reader.getTransactionCount({ address: account.address, blockTag: 'pending' }), next, 'a dropped transaction no longer counts for pending');
  // The leader's EL still holds the dropped one: a replacement bumps its fees (a wallet's "speed up"), as any txpool requires.
  const replacement = await wallet.sendTransaction({ to: recipient(0xb2), value: 1n, nonce: next, maxPriorityFeePerGas: 1_000_000_000n });
  t.is(
    (await reader.waitForTransactionReceipt({ hash: replacement, timeout: RECEIPT_TIMEOUT_MS })).status,
    'success',
    'the same nonce at a fair fee is included',
  );
});

test.serial('forbidden namespaces are refused with -32601 naming the namespace, and never reach the EL', async (t) => {
  const { reader } = viem(nodes.leader!, 0);
  for (const method of ['admin_peers', 'debug_traceTransaction', 'engine_forkchoiceUpdatedV3', 'personal_sign', 'miner_start', 'txpool_content']) {
    const err = await t.throwsAsync(reader.request({ method: method as 'eth_chainId' }), undefined, method);
    t.is((err as { code?: number }).code, -32601, method);
    const namespace = `${method.split('_')[0]}_`;
    t.true(JSON.stringify((err as { details?: string }).details ?? err?.message).includes(namespace), `${method}: names ${namespace}`);
  }
});

test.serial('a JSON-RPC batch mixes forwarded reads, Baton methods and refusals, each answered under its id', async (t) => {
  const { account } = viem(nodes.member!, 0);
  const batch = [
    { jsonrpc: '2.0', id: 'chain', method: 'eth_chainId', params: [] },
    { jsonrpc: '2.0', id: 7, method: 'eth_getTransactionCount', params: [account.address, 'pending'] },
    { jsonrpc: '2.0', id: 8, method: 'baton_txStatus', params: [`0x${'11'.repeat(32)}`] },
    { jsonrpc: '2.0', id: 9, method: 'admin_nodeInfo', params: [] },
    { jsonrpc: '2.0', id: 10, method: 'eth_blockNumber', params: [] },
  ];
  const res = await fetch(`${nodes.member!.apiUrl}/rpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch) });
  t.is(res.status, 200);
  const answers = new Map(((await res.json()) as { id: unknown; result?: unknown; error?: { code: number } }[]).map((a) => [a.id, a]));
  t.is(answers.get('chain')?.result, '0x7a69');
  t.regex(String(answers.get(7)?.result), /^0x[0-9a-f]+$/);
  t.deepEqual(answers.get(8)?.result, { status: 'unknown' });
  t.is(answers.get(9)?.error?.code, -32601);
  t.regex(String(answers.get(10)?.result), /^0x[0-9a-f]+$/);
  // A batch of reads only passes through to the EL as it is, and still answers every id.
  const reads = await fetch(`${nodes.leader!.apiUrl}/rpc`, {
    method: 'POST',
    body: JSON.stringify([1, 2, 3].map((id) => ({ jsonrpc: '2.0', id, method: 'eth_blockNumber', params: [] }))),
  });
  t.deepEqual(((await reads.json()) as { id: number }[]).map((a) => a.id).sort(), [1, 2, 3]);
});

test.serial('malformed requests get typed JSON-RPC errors and the node keeps serving', async (t) => {
  const url = `${nodes.leader!.apiUrl}/rpc`;
  const post = async (body: string) => (await (await fetch(url, { method: 'POST', body })).json()) as { error?: { code: number } };
  t.is((await post('{not json')).error?.code, -32700);
  t.is((await post('{"jsonrpc":"2.0","id":1}')).error?.code, -32600);
  t.is((await post('{"jsonrpc":"2.0","id":1,"method":"eth_getTransactionCount","params":["0x12","pending"]}')).error?.code, -32602);
  t.is((await post('{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0xdeadbeef"]}')).error?.code, -32000);
  const { reader } = viem(nodes.leader!, 0);
  t.is(await reader.getChainId(), 31337);
});
