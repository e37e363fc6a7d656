import { hexToBytes } from '@noble/hashes/utils.js';
import test from 'ava';
import pino from 'pino';
import { DEV_CHAIN_ID } from '../../../../src/adapters/executionClient/genesis.js';
import { signTransfer, testAccounts } from '../../../../src/adapters/executionClient/testAccounts.js';
import { batchingDecodes } from '../../../../src/adapters/mempool/decodeBatch.js';
import { createRuntimeModules } from '../../../../src/runtime/index.js';
import type { Pool } from '../../../../src/runtime/pool.js';
import { poolTasks } from '../../../../src/tasks/index.js';

const CHAIN = BigInt(DEV_CHAIN_ID);
const [alice, bob] = testAccounts();
const raw = (nonce: number, chainId = CHAIN) =>
  hexToBytes(signTransfer({ from: alice!, to: bob!.address, valueWei: 1n, nonce: BigInt(nonce), chainId }).raw.slice(2));

/** A real pool on one worker thread, with the tasks it was asked to run recorded. */
function recordingPool(t: import('ava').ExecutionContext) {
  const { pool } = createRuntimeModules({ logger: pino({ level: 'silent' }), pool: { tasks: poolTasks, threads: 1 } });
  t.teardown(() => pool.destroy());
  const tasks: string[] = [];
  const run: Pool['run'] = (task, input, transfer) => {
    tasks.push(task);
    return pool.run(task, input, transfer);
  };
  return { pool: { run }, tasks };
}

test('decodes asked for in one event-loop turn go to the pool as one task, and each caller gets its own result', async (t) => {
  const { pool, tasks } = recordingPool(t);
  const batching = batchingDecodes(pool);
  const inputs = [raw(0), raw(1), Uint8Array.of(0xde, 0xad), raw(0, 1n), raw(2)];
  const results = await Promise.all(inputs.map((bytes) => batching.run('decodeTransaction', { raw: bytes, chainId: CHAIN })));
  t.deepEqual(tasks, ['decodeTransactions']);
  t.deepEqual(
    results.map((r) => (r.ok ? Number(r.tx.nonce) : r.error.code)),
    [0, 1, 'TX_MALFORMED', 'TX_WRONG_CHAIN', 2],
  );
  // A later turn is a task of its own; other tasks pass straight through.
  await batching.run('decodeTransaction', { raw: raw(3), chainId: CHAIN });
  await batching.run('keccak256', new Uint8Array(1));
  t.deepEqual(tasks, ['decodeTransactions', 'decodeTransactions', 'keccak256']);
});

test('a failed pool task rejects every decode that was in it', async (t) => {
  const failing: Pool['run'] = async () => {
    throw new Error('worker died');
  };
  const batching = batchingDecodes({ run: failing });
  const calls = [raw(0), raw(1)].map((bytes) => batching.run('decodeTransaction', { raw: bytes, chainId: CHAIN }));
  for (const call of calls) await t.throwsAsync(call, { message: 'worker died' });
});
