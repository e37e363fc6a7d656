import test from 'ava';
import { Redis } from 'ioredis';
import { DEV_CHAIN_ID } from '../../src/adapters/executionClient/genesis.js';
import { signTransfer, testAccounts } from '../../src/adapters/executionClient/testAccounts.js';
import { blockTxHashes } from '../../src/tasks/blockTxHashes.js';
import { type BatonProcess, producing, sharedMempoolArgs, startBaton, waitFor } from '../helpers/batonProcess.js';
import { createDatabase, deleteRedisPrefix, REDIS_ADDR, rpc, uniqueRedisPrefix } from '../helpers/services.js';

/**
 * The shared mempool end to end: a leader, a standby and a member (own database), each with its
 * own embedded EL, one Redis. Transactions go to all three nodes' `/rpc`; the tests follow every
 * one to `finalized` in a block that really contains it — also across a leader SIGKILL.
 */
/**
 * The 500. The embedded EL (@ethereumjs/client) builds a block in time quadratic in its
 * transactions (100 take ~13 s here), so the leader hands its EL at most 10 per block
 * (`--mempool-batch-size 10`): 500 transfers take some 50 blocks.
 */
const SUBMITTED = 500;
const SUBMITTED_IN_FAILOVER = 40;
const prefix = uniqueRedisPrefix();
const redis = new Redis(`redis://${REDIS_ADDR}`);
type Db = Awaited<ReturnType<typeof createDatabase>>;
let leadersDb: Db;
let memberDb: Db;
const nodes: Record<'a' | 'b' | 'm', BatonProcess | null> = { a: null, b: null, m: null };
const accounts = testAccounts();
const nextNonce = accounts.map(() => 0n);

const common = () => [...sharedMempoolArgs(REDIS_ADDR, prefix), '--mempool-batch-size', '10'];

/** `count` transfers, round-robin over the ten prefunded accounts, in nonce order per sender. */
function transfers(count: number): { raw: string; hash: string }[] {
  return Array.from({ length: count }, (_, i) => {
    const k = i % accounts.length;
    const tx = signTransfer({
      from: accounts[k]!,
      to: accounts[(k + 1) % accounts.length]!.address,
      valueWei: 1n,
      nonce: nextNonce[k]!,
      chainId: BigInt(DEV_CHAIN_ID),
    });
    nextNonce[k]!++;
    return tx;
  });
}

/** Which committed block holds each hash, read from the payloads the leaders' API serves. */
async function blocksContaining(node: BatonProcess, hashes: Set<string>): Promise<Map<string, bigint[]>> {
  const found = new Map<string, bigint[]>();
  let after = -1n;
  for (;;) {
    const query = after < 0n ? 'limit=100' : `after=${after}&limit=100`;
    const page = (await (await fetch(`${node.apiUrl}/blocks?${query}`)).json()) as { block_number: number; payload_data: string }[];
    if (page.length === 0) return found;
    const pageHashes = blockTxHashes(page.map((block) => Buffer.from(block.payload_data, 'base64')));
    for (const [i, block] of page.entries()) {
      for (const hash of pageHashes[i]!) {
        if (hashes.has(hash)) found.set(hash, [...(found.get(hash) ?? []), BigInt(block.block_number)]);
      }
      after = BigInt(block.block_number);
    }
  }
}

test.before(async () => {
  [leadersDb, memberDb] = await Promise.all([createDatabase(), createDatabase()]);
  nodes.a = await startBaton({ args: ['--role', 'leader', '--instance-id', 'node-a', '--postgres-url', leadersDb.url, ...common()] });
  await waitFor('node-a produces', () => producing(nodes.a!), 90_000);
  [nodes.b, nodes.m] = await Promise.all([
    startBaton({ args: ['--role', 'leader', '--instance-id', 'node-b', '--postgres-url', leadersDb.url, ...common()] }),
    startBaton({ args: ['--role', 'member', '--instance-id', 'member', '--postgres-url', memberDb.url, ...common()] }),
  ]);
  await waitFor('standby and member healthy', async () => (await nodes.b!.health()).status === 200 && (await nodes.m!.health()).status === 200, 90_000);
});

test.after.always(async () => {
  await Promise.all(Object.values(nodes).map((n) => n?.stop()));
  await deleteRedisPrefix(redis, prefix);
  redis.disconnect();
  await Promise.all([leadersDb?.drop(), memberDb?.drop()]);
});

test.serial('bad transactions get JSON-RPC errors and reach nothing', async (t) => {
  const a = nodes.a!;
  const wrongChain = signTransfer({ from: accounts[0]!, to: accounts[1]!.address, valueWei: 1n, nonce: 0n, chainId: BigInt(DEV_CHAIN_ID) + 1n });
  const malformed = await rpc(a, 'eth_sendRawTransaction', ['0xdeadbeef']);
  t.is(malformed.error?.code, -32000);
  t.is(malformed.error?.data?.code, 'TX_MALFORMED');
  const wrong = await rpc(nodes.m!, 'eth_sendRawTransaction', [wrongChain.raw]);
  t.is(wrong.error?.data?.code, 'TX_WRONG_CHAIN');
  t.is((await rpc(a, 'eth_sendRawTransaction', [])).error?.code, -32602);
  t.is((await rpc(a, 'baton_txStatus', [wrongChain.hash])).result?.status, 'unknown');
  const notFound = await fetch(`${a.apiUrl}/txs/${wrongChain.hash}`);
  t.is(notFound.status, 404);
  t.is((await fetch(`${a.apiUrl}/txs/0x1234`)).status, 400);
  t.is(await redis.hlen(`${prefix}:mempool:payloads`), 0, 'nothing invalid reached Redis');
});

test.serial(`${SUBMITTED} transfers sent to three nodes all end finalized, each in exactly one block that contains it; duplicates are refused`, async (t) => {
  t.timeout(300_000);
  const txs = transfers(SUBMITTED);
  const targets = [nodes.a!, nodes.b!, nodes.m!];
  for (const [i, tx] of txs.entries()) {
    const answer = await rpc(targets[i % 3]!, 'eth_sendRawTransaction', [tx.raw]);
    t.is(answer.result, tx.hash, `tx ${i} accepted with its hash`);
  }
  const duplicate = await rpc(nodes.b!, 'eth_sendRawTransaction', [txs[0]!.raw]);
  t.is(duplicate.error?.message, 'already known');

  const statuses = await waitFor(
    'every transaction finalized',
    async () => {
      const all = await Promise.all(txs.map(async (tx) => (await rpc(nodes.m!, 'baton_txStatus', [tx.hash])).result));
      return all.every((s) => s?.status === 'finalized') ? all : undefined;
    },
    240_000,
    1_000,
  );
  const included = await blocksContaining(nodes.a!, new Set(txs.map((tx) => tx.hash)));
  for (const [i, tx] of txs.entries()) {
    t.deepEqual(included.get(tx.hash), [BigInt(statuses[i].blockNumber)], `tx ${i} is in exactly the block its status names`);
  }
  const rest = (await (await fetch(`${nodes.b!.apiUrl}/txs/${txs[1]!.hash}`)).json()) as any;
  t.is(rest.status, 'finalized');
});

test.serial('leader SIGKILL with transactions in flight: none is lost, each ends finalized', async (t) => {
  t.timeout(300_000);
  const txs = transfers(SUBMITTED_IN_FAILOVER);
  for (const [_i, tx] of txs.entries()) t.is((await rpc(nodes.b!, 'eth_sendRawTransaction', [tx.raw])).result, tx.hash);
  await waitFor('some in flight', async () => (await rpc(nodes.b!, 'baton_txStatus', [txs[0]!.hash])).result?.status !== 'pending', 30_000, 50);
  nodes.a!.child.kill('SIGKILL');
  await nodes.a!.exited;
  await waitFor('node-b takes over', () => producing(nodes.b!), 30_000);
  const final = await waitFor(
    'every transaction settled',
    async () => {
      const all = await Promise.all(txs.map(async (tx) => (await rpc(nodes.m!, 'baton_txStatus', [tx.hash])).result));
      return all.every((s) => s?.status === 'finalized' || s?.status === 'dropped') ? all : undefined;
    },
    240_000,
    1_000,
  );
  t.deepEqual(
    final.filter((s) => s.status !== 'finalized'),
    [],
    'valid transfers are all finalized, none dropped',
  );
  const included = await blocksContaining(nodes.b!, new Set(txs.map((tx) => tx.hash)));
  for (const [i, tx] of txs.entries()) t.deepEqual(included.get(tx.hash), [BigInt(final[i].blockNumber)], `tx ${i} in exactly its block`);
});
