import { createHash } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { DEV_CHAIN_ID } from '../../src/adapters/executionClient/genesis.js';
import { signTransfer, testAccounts } from '../../src/adapters/executionClient/testAccounts.js';
import { JsonRpcError } from '../../src/adapters/http/jsonRpc.js';
import { RedisLease } from '../../src/adapters/lease/redis.js';
import { createMempool, type MempoolOptions, type MempoolTx, RedisMempool, watcherLeaseKeys, watcherLockToken } from '../../src/adapters/mempool/index.js';
import { createRuntimeModules } from '../../src/runtime/index.js';
import { poolTasks } from '../../src/tasks/index.js';
import { deleteRedisPrefix, REDIS_ADDR, uniqueRedisPrefix } from '../helpers/services.js';

const logger = pino({ level: 'silent' });
const CHAIN = BigInt(DEV_CHAIN_ID);
const redis = new Redis(`redis://${REDIS_ADDR}`);
const prefixes: string[] = [];

test.after.always(async () => {
  for (const prefix of prefixes) {
    await deleteRedisPrefix(redis, prefix);
  }
  redis.disconnect();
});

/** A mempool on a fresh prefix, and a watcher lock token held for the test's duration. */
async function setup(opts: Omit<MempoolOptions, 'prefix'> = {}) {
  const prefix = uniqueRedisPrefix();
  prefixes.push(prefix);
  const mempool = new RedisMempool({ prefix, ...opts }, { redis });
  const lock = new RedisLease({ keys: watcherLeaseKeys(prefix) }, { redis, logger });
  const grant = await lock.tryAcquire('watcher', 60_000, AbortSignal.timeout(10_000));
  if (!grant) throw new Error('the fresh watcher lock was taken');
  return { prefix, mempool, lock, token: watcherLockToken('watcher', grant.epoch) };
}

/** Synthetic transactions: the mempool stores what the pool task validated and never re-parses it. */
function tx(tag: string): MempoolTx {
  const hash = `0x${createHash('sha256').update(tag).digest('hex')}`;
  return { hash, raw: `0x02${hash.slice(2)}` };
}

function txs(count: number, tag = 't'): MempoolTx[] {
  return Array.from({ length: count }, (_, i) => tx(`${tag}${i}`));
}

async function addAll(t: ExecutionContext, mempool: RedisMempool, list: MempoolTx[]): Promise<void> {
  for (const item of list) t.deepEqual(await mempool.add(item), { added: true }, `add ${item.hash}`);
}

test('add is deduplicated against pending, inflight and finalized, and status follows the transaction', async (t) => {
  const { mempool, token } = await setup();
  const a = tx('a');
  t.deepEqual(await mempool.status(a.hash), { status: 'unknown' });
  t.deepEqual(await mempool.add(a), { added: true });
  t.deepEqual(await mempool.add(a), { added: false, current: { status: 'pending' } });
  t.deepEqual(
    await mempool.add({ ...a, hash: a.hash.toUpperCase().replace('0X', '0x') }),
    { added: false, current: { status: 'pending' } },
    'hashes compare case-insensitively',
  );
  t.deepEqual(await mempool.takeBatch(10, 4n), [a]);
  t.deepEqual(await mempool.add(a), { added: false, current: { status: 'inflight', epoch: 4n } });
  t.deepEqual(await mempool.status(a.hash), { status: 'inflight', epoch: 4n });
  t.like(await mempool.confirmBlock({ blockNumber: 12n, txHashes: [tx('other').hash, a.hash], lockToken: token }), { status: 'confirmed', finalized: 1 });
  t.deepEqual(await mempool.add(a), { added: false, current: { status: 'finalized', blockNumber: 12n } });
  t.deepEqual(await mempool.status(a.hash), { status: 'finalized', blockNumber: 12n });
  t.deepEqual(await mempool.sizes(), { pending: 0, queued: 0, inflight: 0, finalized: 1, dropped: 0 }, 'a foreign hash in the block is ignored');
});

test('concurrent adds of one transaction admit it exactly once', async (t) => {
  const { prefix } = await setup();
  const a = tx('race');
  const clients = Array.from({ length: 8 }, () => new Redis(`redis://${REDIS_ADDR}`));
  t.teardown(() => {
    for (const c of clients) c.disconnect();
  });
  const nodes = clients.map((c) => new RedisMempool({ prefix }, { redis: c }));
  const results = await Promise.all(nodes.flatMap((node) => [node.add(a), node.add(a)]));
  t.is(results.filter((r) => r.added).length, 1);
  t.deepEqual(await nodes[0]!.sizes(), { pending: 1, queued: 0, inflight: 0, finalized: 0, dropped: 0 });
});

test('takeBatch moves pending to inflight oldest first, at most max, tagged with the epoch', async (t) => {
  const { prefix, mempool } = await setup();
  const list = txs(5);
  await addAll(t, mempool, list);
  t.deepEqual(await mempool.takeBatch(0, 1n), []);
  t.deepEqual(await mempool.takeBatch(2, 1n), list.slice(0, 2));
  t.deepEqual(await mempool.takeBatch(10, 2n), list.slice(2));
  t.deepEqual(await mempool.takeBatch(10, 2n), [], 'nothing left');
  t.deepEqual(await mempool.sizes(), { pending: 0, queued: 0, inflight: 5, finalized: 0, dropped: 0 });
  const inflight = await mempool.inflight();
  t.deepEqual(
    inflight.map((i) => i.hash),
    list.map((l) => l.hash),
    'inflight() lists oldest first',
  );
  t.deepEqual(
    inflight.map((i) => i.epoch),
    [1n, 1n, 2n, 2n, 2n],
  );
  t.true(inflight.every((i, n) => i.raw === list[n]!.raw && i.missing === 0));

  // A deposed leader (the fence is above its epoch) gets nothing; pending is untouched.
  await mempool.add(tx('late'));
  await redis.set(`${prefix}:epoch`, '10');
  const err = await t.throwsAsync(mempool.takeBatch(10, 9n));
  t.is((err as { code?: string }).code, 'STALE_EPOCH');
  t.is((await mempool.sizes()).pending, 1);
  t.deepEqual(await mempool.takeBatch(10, 10n), [tx('late')], 'the fence epoch itself may take');
});

test('confirmBlock confirms each block exactly once and in order: replays are no-ops, gaps are refused', async (t) => {
  const { mempool, token } = await setup({ maxNonConfirmations: 5 });
  const [a, b, c] = txs(3);
  await addAll(t, mempool, [a!, b!, c!]);
  await mempool.takeBatch(3, 1n);
  t.is(await mempool.lastConfirmed(), null);

  t.like(
    await mempool.confirmBlock({ blockNumber: 100n, txHashes: [a!.hash], lockToken: token }),
    { status: 'confirmed', finalized: 1 },
    'the first confirmation starts the sequence anywhere',
  );
  t.is(await mempool.lastConfirmed(), 100n);
  const missingAfterOne = (await mempool.inflight()).map((i) => i.missing);
  t.deepEqual(missingAfterOne, [1, 1]);

  for (const replay of [100n, 99n, 1n]) {
    t.deepEqual(
      await mempool.confirmBlock({ blockNumber: replay, txHashes: [b!.hash], lockToken: token }),
      { status: 'already', lastConfirmed: 100n },
      `replay of ${replay}`,
    );
  }
  t.deepEqual(await mempool.confirmBlock({ blockNumber: 102n, txHashes: [b!.hash], lockToken: token }), { status: 'gap', lastConfirmed: 100n });
  t.deepEqual(
    (await mempool.inflight()).map((i) => i.missing),
    [1, 1],
    'neither a replay nor a gap counts a miss',
  );
  t.deepEqual(await mempool.status(b!.hash), { status: 'inflight', epoch: 1n }, 'nor finalizes anything');
  t.is(await mempool.lastConfirmed(), 100n);

  t.like(await mempool.confirmBlock({ blockNumber: 101n, txHashes: [b!.hash], lockToken: token }), { status: 'confirmed', finalized: 1 });
  t.like(await mempool.confirmBlock({ blockNumber: 102n, txHashes: [c!.hash], lockToken: token }), { status: 'confirmed', finalized: 1 });
  t.deepEqual(await mempool.status(b!.hash), { status: 'finalized', blockNumber: 101n });
  t.deepEqual(await mempool.status(c!.hash), { status: 'finalized', blockNumber: 102n });
  t.is(await mempool.lastConfirmed(), 102n);
});

test('only the live watcher lock token can confirm or drop', async (t) => {
  const { mempool, lock, token } = await setup();
  const a = tx('a');
  await mempool.add(a);
  for (const bad of ['', 'nobody', token.replace(/^\d+/, '999')]) {
    t.deepEqual(await mempool.confirmBlock({ blockNumber: 1n, txHashes: [a.hash], lockToken: bad }), { status: 'notWatcher' }, `token ${bad}`);
    t.is(await mempool.drop(a.hash, 'nonce too low', bad), 'notWatcher');
  }
  t.is(await mempool.lastConfirmed(), null);
  await lock.release('watcher', { epoch: BigInt(token.split(':')[0]!) });
  t.deepEqual(
    await mempool.confirmBlock({ blockNumber: 1n, txHashes: [a.hash], lockToken: token }),
    { status: 'notWatcher' },
    'a released lock no longer confirms',
  );
  t.deepEqual(await mempool.status(a.hash), { status: 'pending' });
});

test('inflight transactions missing for maxNonConfirmations blocks go back to pending, first in line', async (t) => {
  const { mempool, token } = await setup({ maxNonConfirmations: 2 });
  const [a, b] = txs(2);
  await addAll(t, mempool, [a!, b!]);
  await mempool.takeBatch(2, 1n);
  const later = tx('later');
  await mempool.add(later);
  const first = await mempool.confirmBlock({ blockNumber: 1n, txHashes: [], lockToken: token });
  t.deepEqual(first, { status: 'confirmed', finalized: 0, requeued: [] });
  const second = await mempool.confirmBlock({ blockNumber: 2n, txHashes: [b!.hash], lockToken: token });
  t.deepEqual(second, { status: 'confirmed', finalized: 1, requeued: [a!] }, 'the requeued transaction comes back with its raw bytes');
  t.deepEqual(await mempool.status(a!.hash), { status: 'pending' });
  t.deepEqual(await mempool.takeBatch(1, 2n), [a!], 'it keeps its place ahead of later submissions');
});

test('finalized and dropped are bounded by maxFinalized, oldest first; pending never expires', async (t) => {
  const { prefix, mempool, token } = await setup({ maxFinalized: 3 });
  const list = txs(8);
  await addAll(t, mempool, list);
  await mempool.takeBatch(8, 1n);
  for (let i = 0; i < 4; i++) {
    await mempool.confirmBlock({ blockNumber: BigInt(i + 1), txHashes: [list[2 * i]!.hash, list[2 * i + 1]!.hash], lockToken: token });
  }
  t.is((await mempool.sizes()).finalized, 3);
  t.deepEqual(await mempool.status(list[0]!.hash), { status: 'unknown' }, 'the oldest were trimmed');
  t.deepEqual(await mempool.status(list[7]!.hash), { status: 'finalized', blockNumber: 4n });

  const doomed = txs(5, 'd');
  await addAll(t, mempool, doomed);
  for (const d of doomed) t.is(await mempool.drop(d.hash, `reason of ${d.hash.slice(0, 8)}`, token), 'dropped');
  t.is((await mempool.sizes()).dropped, 3);
  t.deepEqual(await mempool.status(doomed[0]!.hash), { status: 'unknown' });
  t.deepEqual(await mempool.status(doomed[4]!.hash), { status: 'dropped', reason: `reason of ${doomed[4]!.hash.slice(0, 8)}` });
  t.is(await redis.hlen(`${prefix}:mempool:dropped:reasons`), 3, 'trimmed reasons go with their entries');

  await mempool.add(tx('forever'));
  const ttls = await Promise.all((await redis.keys(`${prefix}:mempool:*`)).filter((k) => !k.endsWith(':watcher:lock')).map((k) => redis.pttl(k)));
  t.true(
    ttls.every((ttl) => ttl === -1),
    'no mempool key expires',
  );
});

test('drop: pending or inflight → dropped with a reason; re-submission re-admits; a dropped transaction found in a block is finalized', async (t) => {
  const { mempool, token } = await setup();
  const [a, b, c] = txs(3);
  await addAll(t, mempool, [a!, b!, c!]);
  await mempool.takeBatch(1, 1n);
  t.is(await mempool.drop(a!.hash, 'nonce too low', token), 'dropped', 'inflight');
  t.is(await mempool.drop(b!.hash, 'insufficient funds', token), 'dropped', 'pending');
  t.is(await mempool.drop(b!.hash, 'again', token), 'notFound');
  t.is(await mempool.drop(tx('never').hash, 'x', token), 'notFound');
  t.deepEqual(await mempool.status(a!.hash), { status: 'dropped', reason: 'nonce too low' });
  t.deepEqual(await mempool.status(b!.hash), { status: 'dropped', reason: 'insufficient funds' });
  t.deepEqual(await mempool.inflight(), []);

  t.deepEqual(await mempool.add(b!), { added: true }, 'a topped-up sender may send the same transaction again');
  t.deepEqual(await mempool.status(b!.hash), { status: 'pending' });
  t.like(await mempool.confirmBlock({ blockNumber: 1n, txHashes: [a!.hash, b!.hash], lockToken: token }), { status: 'confirmed', finalized: 2 });
  t.deepEqual(await mempool.status(a!.hash), { status: 'finalized', blockNumber: 1n });
  t.deepEqual(await mempool.status(b!.hash), { status: 'finalized', blockNumber: 1n }, 'pending, yet included: an EL kept it from an earlier submission');
  t.deepEqual(await mempool.sizes(), { pending: 1, queued: 0, inflight: 0, finalized: 2, dropped: 0 });
});

test('a full pending set refuses with MEMPOOL_FULL; requeued transactions are never refused', async (t) => {
  const { mempool, token } = await setup({ maxPending: 2, maxNonConfirmations: 1 });
  const [a, b, c] = txs(3);
  await addAll(t, mempool, [a!, b!]);
  const err = await t.throwsAsync(mempool.add(c!));
  t.is((err as { code?: string }).code, 'MEMPOOL_FULL');
  t.deepEqual(await mempool.status(c!.hash), { status: 'unknown' });
  await mempool.takeBatch(1, 1n);
  await addAll(t, mempool, [c!]);
  t.like(await mempool.confirmBlock({ blockNumber: 1n, txHashes: [], lockToken: token }), { requeued: [a!] });
  t.is((await mempool.sizes()).pending, 3, 'over the bound rather than lost');
});

test('eth_sendRawTransaction and baton_txStatus: hashes, JSON-RPC errors, metrics', async (t) => {
  const prefix = uniqueRedisPrefix();
  prefixes.push(prefix);
  const registry = new Registry();
  const { pool } = createRuntimeModules({ logger, pool: { tasks: poolTasks, inline: true } });
  const { rpc: methods, mempool } = createMempool({ prefix, maxPending: 2 }, { redis, logger, registry, pool, chainId: CHAIN });
  // Each call as the JSON-RPC response member it becomes: `{result}`, or `{error}` from a thrown JsonRpcError.
  const outcome = async (p: Promise<unknown>) => {
    try {
      return { result: await p };
    } catch (err) {
      if (!(err instanceof JsonRpcError)) throw err;
      return { error: err.data === undefined ? { code: err.rpcCode, message: err.message } : { code: err.rpcCode, message: err.message, data: err.data } };
    }
  };
  const rpc = {
    eth_sendRawTransaction: (params: unknown) => outcome(methods.eth_sendRawTransaction.handler(params)),
    baton_txStatus: (params: unknown) => outcome(methods.baton_txStatus.handler(params)),
  };
  const [alice, bob] = testAccounts();
  const signed = signTransfer({ from: alice!, to: bob!.address, valueWei: 1n, nonce: 0n, chainId: CHAIN });

  t.deepEqual(await rpc.eth_sendRawTransaction([signed.raw]), { result: signed.hash });
  t.deepEqual(await rpc.eth_sendRawTransaction([signed.raw]), { error: { code: -32000, message: 'already known', data: { status: 'pending' } } });
  t.deepEqual(await rpc.baton_txStatus([signed.hash]), { result: { status: 'pending' } });
  await mempool.takeBatch(1, 7n);
  t.deepEqual(await rpc.baton_txStatus([signed.hash.toUpperCase().replace('0X', '0x')]), { result: { status: 'inflight', epoch: '0x7' } });
  t.deepEqual(await rpc.baton_txStatus([`0x${'11'.repeat(32)}`]), { result: { status: 'unknown' } });

  const wrongChain = signTransfer({ from: alice!, to: bob!.address, valueWei: 1n, nonce: 0n, chainId: 1n });
  t.like(await rpc.eth_sendRawTransaction([wrongChain.raw]), { error: { code: -32000, data: { code: 'TX_WRONG_CHAIN' } } });
  t.like(await rpc.eth_sendRawTransaction(['0xdeadbeef']), { error: { code: -32000, data: { code: 'TX_MALFORMED' } } });
  t.like(await rpc.eth_sendRawTransaction([`0x${'00'.repeat(128 * 1024 + 1)}`]), { error: { code: -32000, message: 'oversized data' } });
  for (const bad of [undefined, [], {}, [42], ['deadbeef'], ['0xabc'], ['0xzz'], ['0x']]) {
    t.like(await rpc.eth_sendRawTransaction(bad), { error: { code: -32602 } }, `params ${JSON.stringify(bad)}`);
  }
  for (const bad of [[], ['0x12'], [`0x${'1'.repeat(63)}`], [7]]) {
    t.like(await rpc.baton_txStatus(bad), { error: { code: -32602 } }, `params ${JSON.stringify(bad)}`);
  }
  t.is((await mempool.sizes()).pending, 0, 'nothing invalid reached Redis');

  for (let nonce = 1n; nonce <= 2n; nonce++) {
    const next = signTransfer({ from: alice!, to: bob!.address, valueWei: 1n, nonce, chainId: CHAIN });
    t.deepEqual(await rpc.eth_sendRawTransaction([next.raw]), { result: next.hash }, `nonce ${nonce}`);
  }
  t.like(await rpc.eth_sendRawTransaction([signTransfer({ from: alice!, to: bob!.address, valueWei: 1n, nonce: 3n, chainId: CHAIN }).raw]), {
    error: { code: -32000, message: 'txpool is full' },
  });

  const metrics = await registry.metrics();
  t.regex(metrics, /baton_mempool_submissions_total\{result="added"\} 3/);
  t.regex(metrics, /baton_mempool_submissions_total\{result="duplicate"\} 1/);
  t.regex(metrics, /baton_mempool_submissions_total\{result="rejected"\} 3/);
  t.regex(metrics, /baton_mempool_submissions_total\{result="full"\} 1/);
  t.regex(metrics, /baton_mempool_transactions\{state="pending"\} 2/);
  t.regex(metrics, /baton_mempool_transactions\{state="inflight"\} 1/);
});

test("the sender index: a sender's held nonces in order and held raw transactions, gone once finalized or dropped", async (t) => {
  const { mempool, token } = await setup();
  const accounts = testAccounts();
  const from = accounts[0]!.address;
  const [n0, n1, n3] = [tx('n0'), tx('n1'), tx('n3')];
  await mempool.add(n3, { from, nonce: 3n });
  await mempool.add(n0, { from: from.toUpperCase().replace('0X', '0x'), nonce: 0n });
  await mempool.add(n1, { from, nonce: 1n });
  await mempool.add(tx('other'), { from: accounts[1]!.address, nonce: 0n });
  await mempool.add(tx('anonymous'));
  t.deepEqual(await mempool.senderNonces(from), [0n, 1n, 3n], 'by nonce, whatever the address case');
  t.deepEqual(await mempool.senderNonces(accounts[2]!.address), []);
  await mempool.takeBatch(2, 1n);
  t.deepEqual(await mempool.senderNonces(from), [0n, 1n, 3n], 'inflight transactions are still held');
  t.is(await mempool.heldRaw(n0.hash), n0.raw);
  await mempool.confirmBlock({ blockNumber: 1n, txHashes: [n0.hash], lockToken: token });
  await mempool.drop(n3.hash, 'nonce too low', token);
  t.deepEqual(await mempool.senderNonces(from), [1n]);
  t.is(await mempool.heldRaw(n0.hash), null, 'a finalized transaction is no longer held');
  t.is(await mempool.heldRaw(n3.hash), null, 'nor a dropped one');
});

/** Waits for Redis's clock to pass `ms` milliseconds (the queued lifetime is measured on it). */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('queued: a gapped transaction is never taken; a held nonce or a finalized one before it sends it back to pending, behind the filler', async (t) => {
  const { mempool, token } = await setup();
  const from = testAccounts()[0]!.address;
  const [n0, n1, n2, n4] = [tx('q0'), tx('q1'), tx('q2'), tx('q4')];
  await mempool.add(n1, { from, nonce: 1n });
  await mempool.add(n2, { from, nonce: 2n });
  await mempool.add(n4, { from, nonce: 4n });
  for (const queued of [n1, n2, n4]) t.is(await mempool.queue(queued.hash, `gap before ${queued.hash}`, token), 'queued');
  t.deepEqual(await mempool.status(n1.hash), { status: 'queued', reason: `gap before ${n1.hash}` });
  t.deepEqual(await mempool.takeBatch(10, 1n), [], 'nothing queued is taken');
  t.is(await mempool.heldRaw(n2.hash), n2.raw, 'a queued transaction is held: eth_getTransactionByHash finds it');
  t.deepEqual(await mempool.senderNonces(from), [1n, 2n, 4n]);
  t.like(await mempool.sizes(), { pending: 0, queued: 3 });

  await mempool.add(n0, { from, nonce: 0n });
  t.deepEqual(
    (await mempool.takeBatch(10, 1n)).map((x) => x.hash),
    [n0.hash, n1.hash, n2.hash],
    'nonce 0 fills the gap: 1 and 2 follow it, in nonce order; 4 still waits for 3',
  );
  t.deepEqual(await mempool.status(n4.hash), { status: 'queued', reason: `gap before ${n4.hash}` });

  await mempool.confirmBlock({ blockNumber: 1n, txHashes: [n0.hash], lockToken: token });
  t.is((await mempool.status(n4.hash)).status, 'queued', 'nonce 0 finalized: 4 still waits for 3');
  const n3 = tx('q3');
  await mempool.add(n3, { from, nonce: 3n });
  t.deepEqual(
    (await mempool.takeBatch(10, 1n)).map((x) => x.hash),
    [n3.hash, n4.hash],
    'nonce 3 added: 4 follows it',
  );
  // A sender's queued transaction right after one of its own that a block includes goes back too.
  const n5 = tx('q5');
  await mempool.add(n5, { from, nonce: 5n });
  t.is(await mempool.queue(n5.hash, 'gap before 5', token), 'queued');
  await mempool.confirmBlock({ blockNumber: 2n, txHashes: [n1.hash, n2.hash, n3.hash, n4.hash], lockToken: token });
  t.deepEqual(
    (await mempool.takeBatch(10, 1n)).map((x) => x.hash),
    [n5.hash],
    'nonce 4 finalized: 5 goes back to pending',
  );
  await mempool.confirmBlock({ blockNumber: 3n, txHashes: [n5.hash], lockToken: token });
  t.like(await mempool.sizes(), { pending: 0, queued: 0, inflight: 0, finalized: 6 });
  t.deepEqual(await mempool.senderNonces(from), []);
});

test('queued: only pending transactions are queued, only by the live watcher; a queued one found in a block is finalized', async (t) => {
  const { mempool, token } = await setup();
  const [a, b] = [tx('qa'), tx('qb')];
  await addAll(t, mempool, [a, b]);
  t.is(await mempool.queue(a.hash, 'gap', 'stale-token'), 'notWatcher');
  await mempool.takeBatch(1, 1n);
  t.is(await mempool.queue(a.hash, 'gap', token), 'notFound', 'taken into a batch meanwhile: it stays inflight');
  t.is(await mempool.queue(b.hash, 'gap', token), 'queued');
  t.deepEqual(await mempool.add(b), { added: false, current: { status: 'queued', reason: 'gap' } }, 'a duplicate of a queued one says so');
  await mempool.confirmBlock({ blockNumber: 1n, txHashes: [a.hash, b.hash], lockToken: token });
  t.deepEqual(await mempool.status(b.hash), { status: 'finalized', blockNumber: 1n }, 'an EL that kept it included it anyway');
});

test('bounds: a sender past maxPerSender is refused with SENDER_FULL; past maxQueued a gapped transaction is dropped, saying so', async (t) => {
  const { mempool, token } = await setup({ maxPerSender: 2, maxQueued: 1 });
  const [x, y] = testAccounts().map((a) => a.address);
  await mempool.add(tx('s0'), { from: x!, nonce: 0n });
  await mempool.add(tx('s1'), { from: x!, nonce: 1n });
  const err = await t.throwsAsync(mempool.add(tx('s2'), { from: x!, nonce: 2n }));
  t.is((err as { code?: string }).code, 'SENDER_FULL');
  t.regex(err!.message, /account limit exceeded: the sender has 2 transactions held/);
  t.deepEqual(await mempool.add(tx('y0'), { from: y!, nonce: 0n }), { added: true }, 'another sender is not affected');
  t.is(await mempool.queue(tx('s1').hash, 'nonce gap at 0', token), 'queued');
  t.is(await mempool.queue(tx('y0').hash, 'nonce gap at 5', token), 'dropped');
  t.deepEqual(await mempool.status(tx('y0').hash), { status: 'dropped', reason: 'nonce gap at 5, and 1 transactions are queued already' });
  await mempool.confirmBlock({ blockNumber: 1n, txHashes: [], lockToken: token });
  await mempool.drop(tx('s0').hash, 'nonce too low', token);
  t.deepEqual(await mempool.add(tx('s2'), { from: x!, nonce: 2n }), { added: true }, 'a dropped one frees its sender slot');
});

test('lifetime: queued transactions older than lifetimeMs are dropped as expired, by the live watcher only; pending ones never expire', async (t) => {
  const { mempool, token } = await setup({ lifetimeMs: 300 });
  const [old, fresh, waiting] = [tx('old'), tx('fresh'), tx('waiting')];
  await addAll(t, mempool, [old, fresh, waiting]);
  t.is(await mempool.queue(old.hash, 'gap', token), 'queued');
  await sleep(400);
  t.is(await mempool.queue(fresh.hash, 'gap', token), 'queued');
  t.is(await mempool.expireQueued('stale-token'), null, 'not the watcher: nothing expires');
  t.is(await mempool.expireQueued(token), 1);
  t.deepEqual(await mempool.status(old.hash), { status: 'dropped', reason: 'expired: queued longer than the mempool lifetime (0.3 s)' });
  t.deepEqual(await mempool.status(fresh.hash), { status: 'queued', reason: 'gap' });
  t.deepEqual(await mempool.status(waiting.hash), { status: 'pending' }, 'the lifetime is for queued transactions, as in Geth');
});
