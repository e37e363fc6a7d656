/**
 * The in-memory block store keeps the real one's fence rules (those `test/integration/postgresStore.test.ts`
 * checks on PostgreSQL and PGlite), so an actor test on it means what it would on PostgreSQL.
 */
import test from 'ava';
import { StoreError, type StoreErrorCode } from '../../../src/adapters/postgres/errors.js';
import type { BlockToCommit } from '../../../src/types/block.js';
import { MemoryStore } from '../../helpers/memoryStore.js';

const hash = (tag: string) => `0x${tag.padStart(64, '0')}`;
const block = (n: bigint, parent: string, tag = 'a'): BlockToCommit => ({
  number: n,
  hash: hash(`${tag}${n}`),
  parentHash: parent,
  timestamp: n,
  txCount: 0,
  payloadData: Uint8Array.of(1),
  requestsData: Uint8Array.of(2),
});

/** A store holding blocks 1 and 2 at epoch 5. */
async function twoBlocks() {
  const store = new MemoryStore();
  const one = block(1n, hash('genesis'));
  const two = block(2n, one.hash);
  await store.commitBlock(one, 5n, 'leader-a');
  await store.commitBlock(two, 5n, 'leader-a');
  return { store, one, two };
}

const refusals: [string, (b: Awaited<ReturnType<typeof twoBlocks>>) => [BlockToCommit, bigint], StoreErrorCode][] = [
  ['a lower epoch', ({ two }) => [block(3n, two.hash), 4n], 'STALE_EPOCH'],
  ['the identical block at a lower epoch', ({ two }) => [two, 4n], 'STALE_EPOCH'],
  ['another block at a committed height', ({ one }) => [block(2n, one.hash, 'b'), 5n], 'HEIGHT_TAKEN'],
  ['a committed hash at another height', ({ two }) => [{ ...two, number: 3n, parentHash: two.hash }, 5n], 'HEIGHT_TAKEN'],
  ['a parent that is not the block at n−1', () => [block(3n, hash('wrong')), 6n], 'PARENT_MISMATCH'],
  ['a gap', ({ two }) => [block(4n, two.hash), 6n], 'PARENT_MISMATCH'],
];

for (const [what, commit, code] of refusals) {
  test(`refuses ${what} with ${code}, and the refusal changes nothing`, async (t) => {
    const b = await twoBlocks();
    const [refused, epoch] = commit(b);
    const err = await t.throwsAsync(b.store.commitBlock(refused, epoch, 'x'), { instanceOf: StoreError });
    t.is(err?.code, code);
    t.is(await b.store.fenceEpoch(), 5n, 'the fence is where it was');
    t.deepEqual(
      b.store.all().map((r) => r.hash),
      [b.one.hash, b.two.hash],
    );
  });
}

test('the identical block again is an idempotent success that keeps the row and raises the fence', async (t) => {
  const { store, two } = await twoBlocks();
  t.deepEqual(await store.commitBlock(two, 7n, 'leader-b'), { inserted: false });
  t.like(await store.getByNumber(2n), { epoch: 5n, leader: 'leader-a' });
  t.is(await store.fenceEpoch(), 7n);
});

test('the first block of an empty store may start anywhere; raiseFence refuses a lower epoch and makes older commits stale', async (t) => {
  const store = new MemoryStore();
  const first = block(100n, hash('anything'));
  t.deepEqual(await store.commitBlock(first, 1n, 'leader-a'), { inserted: true });
  await store.raiseFence(3n);
  t.is((await t.throwsAsync(store.commitBlock(block(101n, first.hash), 2n, 'old'), { instanceOf: StoreError }))?.code, 'STALE_EPOCH');
  t.is((await t.throwsAsync(store.raiseFence(2n), { instanceOf: StoreError }))?.code, 'STALE_EPOCH');
  t.deepEqual(await store.commitBlock(block(101n, first.hash), 3n, 'new'), { inserted: true });
  t.deepEqual(
    (await store.range(99n, 10)).map((b) => b.number),
    [100n, 101n],
  );
  t.is((await store.head())?.number, 101n);
});
