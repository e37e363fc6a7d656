import { keccak_256 } from '@noble/hashes/sha3.js';
import test from 'ava';
import pino from 'pino';
import type { CodedError } from '../../../src/runtime/errors.js';
import { createRuntimeModules } from '../../../src/runtime/index.js';
import { poolTasks } from '../../../src/tasks/index.js';

const silent = pino({ level: 'silent' });

test('buffers passed for transfer are moved to the worker, not cloned', async (t) => {
  const { pool } = createRuntimeModules({ logger: silent, pool: { tasks: poolTasks, threads: 1 } });
  const bytes = new Uint8Array(160 * 1024).map((_, i) => i & 0xff);
  const expected = keccak_256(bytes);
  const digest = await pool.run('keccak256', bytes, [bytes.buffer]);
  t.is(bytes.byteLength, 0, 'the caller no longer owns the buffer');
  t.deepEqual([...digest], [...expected]);
  await pool.destroy();
});

test('without transfer the caller keeps its buffer', async (t) => {
  const { pool } = createRuntimeModules({ logger: silent, pool: { tasks: poolTasks, threads: 1 } });
  const bytes = new Uint8Array(1024).fill(7);
  await pool.run('keccak256', bytes);
  t.is(bytes.byteLength, 1024);
  await pool.destroy();
});

test('a worker killed mid-task rejects that task with WORKER_DIED and the pool keeps serving', async (t) => {
  const { pool, chaos } = createRuntimeModules({ chaos: true, logger: silent, pool: { tasks: poolTasks, threads: 2 } });
  chaos.killWorker('keccak256');
  const err = await t.throwsAsync(pool.run('keccak256', new Uint8Array([1])));
  t.is((err as CodedError).code, 'WORKER_DIED');
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => pool.run('keccak256', new Uint8Array([i]))));
  t.is(results.length, 8);
  for (const [i, digest] of results.entries()) t.deepEqual([...digest], [...keccak_256(new Uint8Array([i]))], `task ${i}`);
  await pool.destroy();
});

test('backpressure: the queue reports full and drained() resolves once there is room', async (t) => {
  const { pool } = createRuntimeModules({ logger: silent, pool: { tasks: poolTasks, threads: 1 } });
  const big = () => new Uint8Array(1024 * 1024);
  const inFlight: Promise<unknown>[] = [];
  let sawFull = false;
  for (let i = 0; i < 10; i++) {
    inFlight.push(pool.run('keccak256', big()));
    if (pool.isFull) sawFull = true;
  }
  t.true(sawFull, 'a one-thread pool with ten large tasks reaches its queue bound');
  await pool.drained();
  t.false(pool.isFull);
  await Promise.all(inFlight);
  await pool.destroy();
});

test('inline mode runs the same task on the calling thread', async (t) => {
  const { pool } = createRuntimeModules({ logger: silent, pool: { tasks: poolTasks, inline: true } });
  const digest = await pool.run('keccak256', new Uint8Array([1, 2]));
  t.deepEqual([...digest], [...keccak_256(new Uint8Array([1, 2]))]);
  await pool.destroy();
});

test('a task’s coded error reaches the caller with its code and metadata, across the thread', async (t) => {
  const { pool } = createRuntimeModules({ logger: silent, pool: { tasks: poolTasks, threads: 1 } });
  const err = await t.throwsAsync(pool.run('verifyPayload', { payloadData: new Uint8Array([0xc1]), requestsData: new Uint8Array([0x90]) }));
  t.is((err as CodedError).code, 'PAYLOAD_MALFORMED', 'not TASK_FAILED: the code crossed the thread');
  t.truthy((err as CodedError).meta.field, 'the metadata crossed too');
  await pool.destroy();
});
