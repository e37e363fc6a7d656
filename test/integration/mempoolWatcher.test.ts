import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { type CommittedBlockTxs, mempoolWatcherActor } from '../../src/actors/mempoolWatcher.js';
import type { MempoolWatcherMsg } from '../../src/actors/messages.js';
import { RedisLease } from '../../src/adapters/lease/redis.js';
import { type ConfirmResult, createMempoolMetrics, type MempoolTx, RedisMempool, type TxJudge, watcherLeaseKeys } from '../../src/adapters/mempool/index.js';
import { actorRef } from '../../src/runtime/actor.js';
import { createRuntimeModules } from '../../src/runtime/index.js';
import { Supervisor } from '../../src/runtime/supervisor.js';
import { poolTasks } from '../../src/tasks/index.js';
import { deleteRedisPrefix, REDIS_ADDR, uniqueRedisPrefix } from '../helpers/services.js';
import { TcpProxy } from '../helpers/tcpProxy.js';

const [REDIS_HOST, REDIS_PORT] = REDIS_ADDR.split(':') as [string, string];
/** Short enough to keep the tests quick, long enough that a loaded CI machine renews in time. */
const TTL_MS = 1_500;
const RETRY_MS = 100;
const ACTOR = 'mempoolWatcher';

interface LogLine {
  level: number;
  msg: string;
  number?: string | number;
}

/** One node's watcher: its own Redis connection, runtime, supervisor and captured logs. */
interface Node {
  name: string;
  logs: LogLine[];
  confirmations: Array<{ number: bigint; status: ConfirmResult['status'] }>;
  supervisor: Supervisor;
  send(msg: MempoolWatcherMsg): void;
  logged(msg: string): LogLine[];
}

/** The committed chain every node reads from (its PostgreSQL store, in a real node). */
class Chain {
  readonly blocks: CommittedBlockTxs[] = [];
  /** Which block each of our transactions went into. */
  readonly includedIn = new Map<string, bigint>();

  blocksAfter = async (after: bigint, limit: number): Promise<CommittedBlockTxs[]> => this.blocks.filter((b) => b.number > after).slice(0, limit);

  /** Commit the next block with these transactions and a foreign one, and tell `nodes` about it. */
  commit(txs: MempoolTx[], nodes: Node[]): CommittedBlockTxs {
    const number = BigInt(this.blocks.length + 1);
    const block = { number, hash: sha(`block ${number}`), txHashes: [sha(`foreign ${number}`), ...txs.map((t) => t.hash)] };
    this.blocks.push(block);
    for (const t of txs) this.includedIn.set(t.hash, number);
    for (const node of nodes) node.send({ type: 'blockCommitted', number });
    return block;
  }
}

function sha(s: string): string {
  return `0x${createHash('sha256').update(s).digest('hex')}`;
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  while (!(await cond())) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return performance.now();
}

async function startNode(
  t: ExecutionContext,
  name: string,
  redisUrl: string,
  prefix: string,
  chain: Chain,
  judgeTx: TxJudge = async () => ({ action: 'keep' }),
  maxNonConfirmations = 10,
): Promise<Node> {
  const redis = new Redis(redisUrl);
  redis.on('error', () => {});
  const logs: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write: (line, _enc, done) => {
        logs.push(JSON.parse(String(line)));
        done();
      },
    }),
  );
  const runtime = createRuntimeModules({ logger, pool: { tasks: poolTasks, inline: true } });
  const real = new RedisMempool({ prefix, maxNonConfirmations }, { redis });
  const confirmations: Node['confirmations'] = [];
  // The real mempool, recording what each confirmation came to on this node.
  const mempool = Object.assign(Object.create(real) as RedisMempool, {
    async confirmBlock(block: Parameters<RedisMempool['confirmBlock']>[0]) {
      const result = await real.confirmBlock(block);
      confirmations.push({ number: block.blockNumber, status: result.status });
      return result;
    },
  });
  const lock = new RedisLease({ keys: watcherLeaseKeys(prefix) }, { redis, logger });
  const metrics = createMempoolMetrics(new Registry(), real);
  const supervisor = new Supervisor(
    {
      strategy: 'one_for_one',
      intensity: { maxRestarts: 3, periodMs: 10_000 },
      children: [
        {
          id: ACTOR,
          restart: 'permanent',
          shutdownMs: 3_000,
          start: () =>
            mempoolWatcherActor(
              { identity: name, lockTtlMs: TTL_MS, lockRetryMs: RETRY_MS },
              { mempool, lock, blocksAfter: chain.blocksAfter, judgeTx, metrics },
            ),
        },
      ],
    },
    runtime,
  );
  await supervisor.start();
  t.teardown(async () => {
    await supervisor.stop();
    redis.disconnect();
  });
  return {
    name,
    logs,
    confirmations,
    supervisor,
    send: (msg) => supervisor.send(actorRef<MempoolWatcherMsg>(ACTOR), msg),
    logged: (msg) => logs.filter((l) => l.msg === msg),
  };
}

/** A fresh prefix with `count` transactions pending, and a leader-side view to take batches with; cleaned up after the test. */
async function seed(t: ExecutionContext, count: number) {
  const prefix = uniqueRedisPrefix();
  const redis = new Redis(`redis://${REDIS_ADDR}`);
  t.teardown(async () => {
    await deleteRedisPrefix(redis, prefix);
    redis.disconnect();
  });
  const mempool = new RedisMempool({ prefix }, { redis });
  for (let i = 0; i < count; i++) {
    const hash = sha(`${prefix} tx ${i}`);
    await mempool.add({ hash, raw: `0x02${hash.slice(2)}` });
  }
  return { prefix, mempool, take: (n: number) => mempool.takeBatch(n, 1n) };
}

/** Every block confirmed exactly once across all nodes, in order, and every transaction finalized in its block. */
async function assertExactlyOnce(t: ExecutionContext, nodes: Node[], chain: Chain, mempool: RedisMempool): Promise<void> {
  const confirmed = nodes.flatMap((n) => n.confirmations.filter((c) => c.status === 'confirmed').map((c) => c.number)).sort((a, b) => (a < b ? -1 : 1));
  t.deepEqual(
    confirmed,
    chain.blocks.map((b) => b.number),
    'each block confirmed exactly once, none skipped',
  );
  for (const [hash, number] of chain.includedIn) t.deepEqual(await mempool.status(hash), { status: 'finalized', blockNumber: number }, `status of ${hash}`);
  t.deepEqual(await mempool.sizes(), { pending: 0, queued: 0, inflight: 0, finalized: chain.includedIn.size, dropped: 0 });
}

test.serial('stopping the watcher hands the lock over at once; the next one catches up from the last confirmed block', async (t) => {
  const leader = await seed(t, 30);
  const { prefix } = leader;
  const chain = new Chain();
  const a = await startNode(t, 'a', `redis://${REDIS_ADDR}`, prefix, chain);
  await waitFor('a to acquire', () => a.logged('acquired watcher lock').length === 1);
  const b = await startNode(t, 'b', `redis://${REDIS_ADDR}`, prefix, chain);

  for (let i = 0; i < 3; i++) chain.commit(await leader.take(5), [a, b]);
  await waitFor('blocks 1–3 confirmed', async () => (await leader.mempool.lastConfirmed()) === 3n);
  await waitFor('b to skip them', () => b.logged('not watcher, skipping confirm').length === 3);
  await waitFor('a to renew', () => a.logged('watcher lock renewed').length >= 1);

  const stopped = performance.now();
  await a.supervisor.stop();
  t.is(a.logged('released watcher lock').length, 1);
  t.is(a.logged('lost watcher lock').length, 0, 'a normal stop is not a loss');
  chain.commit(await leader.take(5), [b]); // committed while the lock may be free: must not be skipped
  const acquired = await waitFor('b to acquire', () => b.logged('acquired watcher lock').length === 1);
  t.true(acquired - stopped < TTL_MS, `b took over in ${Math.round(acquired - stopped)} ms, within the TTL`);

  for (let i = 0; i < 2; i++) chain.commit(await leader.take(5), [b]);
  await waitFor('blocks 4–6 confirmed', async () => (await leader.mempool.lastConfirmed()) === 6n);
  await assertExactlyOnce(t, [a, b], chain, leader.mempool);
});

test.serial('a partitioned watcher loses the lock, the other takes over within the TTL, and its late write is refused', async (t) => {
  const leader = await seed(t, 30);
  const { prefix } = leader;
  // a reaches Redis through this proxy, b directly: only a is partitioned.
  const proxy = await TcpProxy.start({ host: REDIS_HOST, port: Number(REDIS_PORT) });
  t.teardown(async () => {
    proxy.heal();
    await proxy.close();
  });
  const chain = new Chain();
  const a = await startNode(t, 'a', `redis://${proxy.address}`, prefix, chain);
  await waitFor('a to acquire', () => a.logged('acquired watcher lock').length === 1);
  const b = await startNode(t, 'b', `redis://${REDIS_ADDR}`, prefix, chain);

  for (let i = 0; i < 2; i++) chain.commit(await leader.take(5), [a, b]);
  await waitFor('blocks 1–2 confirmed', async () => (await leader.mempool.lastConfirmed()) === 2n);

  proxy.cut('hold'); // every byte held both ways, delivered late and in order on heal()
  const cut = performance.now();
  // A still holds the lock by its own clock, so it sends this confirmation; the network holds it.
  for (let i = 0; i < 2; i++) chain.commit(await leader.take(5), [a, b]);
  const acquired = await waitFor('b to acquire', () => b.logged('acquired watcher lock').length === 1);
  t.true(acquired - cut < TTL_MS + RETRY_MS + 500, `b took over ${Math.round(acquired - cut)} ms after the partition`);
  await waitFor('b to catch up on blocks 3–4', async () => (await leader.mempool.lastConfirmed()) === 4n);
  await waitFor('a to give up by its own deadline', () => a.logged('lost watcher lock').length === 1);

  proxy.heal();
  await waitFor("a's held confirmation to land", () => a.confirmations.length === 3);
  t.deepEqual(a.confirmations.at(-1), { number: 3n, status: 'notWatcher' }, 'the late write of the deposed watcher changed nothing');

  const skippedBefore = a.logged('not watcher, skipping confirm').length;
  for (let i = 0; i < 2; i++) chain.commit(await leader.take(5), [a, b]);
  await waitFor('blocks 5–6 confirmed', async () => (await leader.mempool.lastConfirmed()) === 6n);
  await waitFor('a to skip them as a non-watcher', () => a.logged('not watcher, skipping confirm').length >= skippedBefore + 2);
  t.is(a.logged('acquired watcher lock').length, 1, 'a rejoined as a non-watcher');
  await assertExactlyOnce(t, [a, b], chain, leader.mempool);
});

test.serial(
  'transactions missing from blocks are judged: kept ones go back to pending, gapped ones wait in queued, doomed ones are dropped with the reason',
  async (t) => {
    const leader = await seed(t, 3);
    const { prefix } = leader;
    const [doomed, gapped, fine] = await leader.take(3);
    let elDown = false;
    const judged: string[] = [];
    const judgeTx: TxJudge = async (tx) => {
      if (elDown) throw new Error('EL unreachable');
      judged.push(tx.hash);
      if (tx.raw === doomed!.raw) return { action: 'drop', reason: 'nonce too low: address 0xa, tx: 0 state: 1' };
      if (tx.raw === gapped!.raw) return { action: 'queue', reason: 'nonce gap: address 0xa, tx: 5 waits for nonce 4 (state: 4)' };
      return { action: 'keep' };
    };
    const chain = new Chain();
    const node = await startNode(t, 'w', `redis://${REDIS_ADDR}`, prefix, chain, judgeTx, 2);
    await waitFor('the lock', () => node.logged('acquired watcher lock').length === 1);
    chain.commit([], [node]);
    chain.commit([], [node]);
    await waitFor('the drop', async () => (await leader.mempool.status(doomed!.hash)).status === 'dropped');
    t.deepEqual(await leader.mempool.status(doomed!.hash), { status: 'dropped', reason: 'nonce too low: address 0xa, tx: 0 state: 1' });
    await waitFor('the queueing', async () => (await leader.mempool.status(gapped!.hash)).status === 'queued');
    t.deepEqual(await leader.mempool.status(gapped!.hash), { status: 'queued', reason: 'nonce gap: address 0xa, tx: 5 waits for nonce 4 (state: 4)' });
    t.deepEqual(await leader.mempool.status(fine!.hash), { status: 'pending' }, 'one the EL accepts waits for the next batch');
    t.like(await leader.mempool.sizes(), { pending: 1, queued: 1, inflight: 0, dropped: 1 });

    elDown = true;
    t.deepEqual(await leader.take(5), [fine!], 'a queued transaction is not taken into a batch, so it is not resubmitted');
    chain.commit([], [node]);
    chain.commit([], [node]);
    await waitFor('block 4 confirmed', async () => (await leader.mempool.lastConfirmed()) === 4n);
    await waitFor('the warning', () => node.logs.some((l) => l.msg.startsWith('Cannot ask the EL')));
    t.deepEqual(await leader.mempool.status(fine!.hash), { status: 'pending' }, 'an EL that cannot be asked drops nothing');
    t.is(await leader.mempool.status(gapped!.hash).then((s) => s.status), 'queued', 'the queued one waits, unjudged');
    t.deepEqual(judged.sort(), [doomed!.hash, gapped!.hash, fine!.hash].sort(), 'each was judged once, before the EL went away');
  },
);
