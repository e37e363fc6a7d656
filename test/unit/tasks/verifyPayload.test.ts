import { createCipheriv, createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createBlockFromExecutionPayload, genRequestsRoot } from '@ethereumjs/block';
import { createCommonFromGethGenesis, type GethGenesis, Hardfork } from '@ethereumjs/common';
import { createAccessList2930Tx, createBlob4844Tx, createEOACode7702Tx, createFeeMarket1559Tx, createLegacyTx } from '@ethereumjs/tx';
import { createCLRequest, eoaCode7702SignAuthorization, type KZG } from '@ethereumjs/util';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import test from 'ava';
import pino from 'pino';
import { devGenesis } from '../../../src/adapters/executionClient/genesis.js';
import { encode } from '../../../src/runtime/codec.js';
import { createRuntimeModules } from '../../../src/runtime/index.js';
import { encodeBlock } from '../../../src/tasks/encodeBlock.js';
import { poolTasks } from '../../../src/tasks/index.js';
import { VerifyPayloadError, VerifyPayloadErrorCode, type VerifyPayloadInput, verifyPayload } from '../../../src/tasks/verifyPayload.js';
import type { BlockEnvelope } from '../../../src/types/block.js';
import type { ExecutionPayloadV3, GetPayloadV4Response, WithdrawalV1 } from '../../../src/types/engine.js';

/** @ethereumjs/tx wants a KZG backend for any blob transaction; one without blobs (as in payloads) never calls it. */
const unusedKzg = new Proxy({} as KZG, {
  get: () => () => {
    throw new Error('KZG called: only blob-less (payload form) blob transactions are expected here');
  },
});

/** The dev chain the embedded EL runs (chain 31337, every fork through Prague at genesis). */
const common = createCommonFromGethGenesis(devGenesis() as unknown as GethGenesis, {
  chain: 'baton-dev',
  hardfork: Hardfork.Prague,
  customCrypto: { kzg: unusedKzg },
});

/** What `bench/fixtures/record.ts` writes; see the comment at its top. */
interface Fixture extends GetPayloadV4Response {
  fixture: { name: string; blockNumber: number; txCount: number };
  parentBeaconBlockRoot: string;
}

const FIXTURE_DIR = new URL('../../../bench/fixtures/payloads/', import.meta.url);
const fixtures: Fixture[] = readdirSync(FIXTURE_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(new URL(f, FIXTURE_DIR), 'utf8')) as Fixture);

/** One block in the pieces the verifier and @ethereumjs/block both read. */
interface Block {
  payload: ExecutionPayloadV3;
  versionedHashes: string[];
  parentBeaconBlockRoot: string;
  requests: string[];
}

const fromFixture = (f: Fixture): Block => ({
  payload: f.executionPayload,
  versionedHashes: f.blobsBundle.commitments, // empty on the dev chain: encodeBlock turns commitments into hashes
  parentBeaconBlockRoot: f.parentBeaconBlockRoot,
  requests: f.executionRequests,
});

/** The stored bytes, as the Publisher commits them. */
function stored(b: Block): VerifyPayloadInput {
  return {
    payloadData: encode({
      executionPayload: b.payload,
      versionedHashes: b.versionedHashes,
      parentBeaconBlockRoot: b.parentBeaconBlockRoot,
    } satisfies BlockEnvelope),
    requestsData: encode(b.requests),
  };
}

/** EIP-7685 requests hash by @ethereumjs/block's own helper. */
const referenceRequestsHash = (requests: string[]): string =>
  `0x${bytesToHex(
    genRequestsRoot(
      requests.map((r) => createCLRequest(hexToBytes(r.slice(2)))),
      sha256,
    ),
  )}`;

/**
 * The hash @ethereumjs/block computes for the block. `createBlockFromExecutionPayload` rebuilds the
 * header (its own tries, its own RLP) and rejects a payload whose claimed hash differs, naming the
 * hash it computed; given a claimed hash, it must accept it.
 */
async function referenceHash(b: Block, claimed = `0x${'00'.repeat(32)}`): Promise<string> {
  const payload = {
    ...b.payload,
    blockHash: claimed,
    parentBeaconBlockRoot: b.parentBeaconBlockRoot,
    requestsHash: referenceRequestsHash(b.requests),
  } as Parameters<typeof createBlockFromExecutionPayload>[0];
  try {
    return `0x${bytesToHex((await createBlockFromExecutionPayload(payload, { common })).hash())}`;
  } catch (e) {
    const computed = /received: (0x[0-9a-f]{64})/.exec(String((e as Error)?.message ?? e))?.[1];
    if (computed === undefined) throw e;
    return computed;
  }
}

/** A seeded byte stream (the ChaCha20 keystream of the seed), so a failing case replays from its seed. */
function seededRandom(seed: string) {
  const cipher = createCipheriv('chacha20', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
  const bytes = (n: number): Uint8Array => new Uint8Array(cipher.update(Buffer.alloc(n)));
  const int = (max: number): number => Buffer.from(bytes(4)).readUInt32BE() % max;
  const hex = (n: number): Hex => `0x${bytesToHex(bytes(n))}`;
  /** A QUANTITY of up to `byteWidth` bytes, often small or zero. */
  const quantity = (byteWidth: number): Hex => `0x${BigInt(`0x00${bytesToHex(bytes(1 + int(byteWidth)))}`).toString(16)}`;
  return { bytes, int, hex, quantity };
}
type Rnd = ReturnType<typeof seededRandom>;
type Hex = `0x${string}`;

/** A signed transaction of every type the chain accepts, with random fields. */
function randomTx(rnd: Rnd, type: number, blobHashes: Hex[]): string {
  const key = rnd.bytes(32);
  const base = {
    chainId: common.chainId(),
    nonce: BigInt(rnd.int(1_000)),
    gasLimit: 21_000n + BigInt(rnd.int(1_000_000)),
    to: rnd.bytes(20),
    value: BigInt(rnd.quantity(16)),
    data: rnd.bytes(rnd.int(3) === 0 ? 200 + rnd.int(2_000) : rnd.int(64)),
  };
  const fees = { maxFeePerGas: 2_000_000_000n + BigInt(rnd.int(1e9)), maxPriorityFeePerGas: BigInt(rnd.int(1e9)) };
  const accessList = Array.from({ length: rnd.int(3) }, () => ({ address: rnd.hex(20), storageKeys: Array.from({ length: rnd.int(3) }, () => rnd.hex(32)) }));
  const opts = { common };
  switch (type) {
    case 0:
      return serialize(createLegacyTx({ ...base, gasPrice: fees.maxFeePerGas }, opts).sign(key));
    case 1:
      return serialize(createAccessList2930Tx({ ...base, gasPrice: fees.maxFeePerGas, accessList }, opts).sign(key));
    case 2:
      return serialize(createFeeMarket1559Tx({ ...base, ...fees, accessList }, opts).sign(key));
    case 3:
      return serialize(
        createBlob4844Tx({ ...base, ...fees, accessList, maxFeePerBlobGas: 1n + BigInt(rnd.int(1e6)), blobVersionedHashes: blobHashes }, opts).sign(key),
      );
    default: {
      const authorizationList = Array.from({ length: 1 + rnd.int(2) }, () =>
        // Non-zero: @ethereumjs/util encodes "0x0" as a leading-zero byte, which the tx then refuses.
        eoaCode7702SignAuthorization({ chainId: nonZero(rnd), address: rnd.hex(20), nonce: nonZero(rnd) }, rnd.bytes(32)),
      );
      return serialize(createEOACode7702Tx({ ...base, ...fees, accessList, authorizationList }, opts).sign(key));
    }
  }
}
const serialize = (tx: { serialize(): Uint8Array }): string => `0x${bytesToHex(tx.serialize())}`;
const nonZero = (rnd: Rnd): Hex => `0x${(1 + rnd.int(1e6)).toString(16)}`;

const BLOB_GAS_PER_BLOB = 131_072;

/**
 * A payload that hashes consistently but was never executed: random header fields, a mix of
 * transaction types (blob transactions with their versioned hashes in the envelope), random
 * withdrawals and random EIP-7685 requests (ascending types, some with a type byte only).
 */
async function randomBlock(seed: string): Promise<Block> {
  const rnd = seededRandom(seed);
  const versionedHashes: Hex[] = [];
  const transactions = Array.from({ length: rnd.int(4) === 0 ? rnd.int(3) : rnd.int(150) }, () => {
    const type = rnd.int(5);
    const blobs = type === 3 ? Array.from({ length: 1 + rnd.int(3) }, (): Hex => `0x01${bytesToHex(rnd.bytes(31))}`) : [];
    versionedHashes.push(...blobs);
    return randomTx(rnd, type, blobs);
  });
  const withdrawals: WithdrawalV1[] = Array.from({ length: rnd.int(3) === 0 ? 0 : rnd.int(40) }, () => ({
    index: rnd.quantity(8),
    validatorIndex: rnd.quantity(8),
    address: rnd.hex(20),
    amount: rnd.quantity(8),
  }));
  const requests = [0, 1, 2].filter(() => rnd.int(2) === 0).map((type) => `0x0${type}${bytesToHex(rnd.bytes(rnd.int(4) === 0 ? 0 : 1 + rnd.int(400)))}`);
  const gasLimit = BigInt(30_000_000 + rnd.int(30_000_000));
  const b: Block = {
    payload: {
      parentHash: rnd.hex(32),
      feeRecipient: rnd.hex(20),
      stateRoot: rnd.hex(32),
      receiptsRoot: rnd.hex(32),
      logsBloom: rnd.hex(256),
      prevRandao: rnd.hex(32),
      blockNumber: `0x${(1 + rnd.int(1e9)).toString(16)}`,
      gasLimit: `0x${gasLimit.toString(16)}`,
      gasUsed: `0x${BigInt(rnd.int(Number(gasLimit))).toString(16)}`,
      timestamp: `0x${(1_735_689_600 + rnd.int(1e8)).toString(16)}`,
      extraData: rnd.hex(rnd.int(33)),
      baseFeePerGas: rnd.quantity(32),
      blockHash: '',
      transactions,
      withdrawals,
      blobGasUsed: `0x${(versionedHashes.length * BLOB_GAS_PER_BLOB).toString(16)}`,
      excessBlobGas: `0x${(rnd.int(100) * BLOB_GAS_PER_BLOB).toString(16)}`,
    },
    versionedHashes,
    parentBeaconBlockRoot: rnd.hex(32),
    requests,
  };
  b.payload.blockHash = await referenceHash(b);
  return b;
}

/** `hex` with one bit of byte `index` flipped (in the byte's value: the hex stays canonical). */
function flipByte(hex: string, index: number): string {
  const bytes = hexToBytes(hex.slice(2));
  bytes[index % bytes.length]! ^= 0x01;
  return `0x${bytesToHex(bytes)}`;
}
/** A QUANTITY one bit away, still canonical. */
const flipQuantity = (q: string): string => `0x${(BigInt(q) ^ 1n).toString(16)}`;

/** The header fields an ExecutionPayloadV3 carries (@ethereumjs/client adds a `requestsHash` no EL reads). */
const DATA_FIELDS = ['parentHash', 'feeRecipient', 'stateRoot', 'receiptsRoot', 'logsBloom', 'prevRandao', 'extraData'] as const;
const QUANTITY_FIELDS = ['blockNumber', 'gasLimit', 'gasUsed', 'timestamp', 'baseFeePerGas', 'blobGasUsed', 'excessBlobGas'] as const;

/** Every single-field change of the block, each of which must change the block hash. */
function mutations(b: Block, rnd: Rnd): Array<{ what: string; block: Block }> {
  const out: Array<{ what: string; block: Block }> = [];
  const withPayload = (what: string, payload: Partial<ExecutionPayloadV3>) => out.push({ what, block: { ...b, payload: { ...b.payload, ...payload } } });
  for (const key of QUANTITY_FIELDS) withPayload(`header ${key}`, { [key]: flipQuantity(b.payload[key]) });
  for (const key of DATA_FIELDS) {
    const value = b.payload[key];
    if (value === '0x') withPayload(`header ${key} (one byte added)`, { [key]: '0x00' });
    else withPayload(`header ${key}`, { [key]: flipByte(value, rnd.int(1 << 16)) });
  }
  withPayload('claimed blockHash', { blockHash: flipByte(b.payload.blockHash, rnd.int(32)) });
  out.push({ what: 'parentBeaconBlockRoot', block: { ...b, parentBeaconBlockRoot: flipByte(b.parentBeaconBlockRoot, rnd.int(32)) } });
  for (const i of pick(rnd, b.payload.transactions.length)) {
    const transactions = [...b.payload.transactions];
    transactions[i] = flipByte(transactions[i]!, rnd.int(1 << 16));
    withPayload(`transaction ${i}`, { transactions });
  }
  if (b.payload.transactions.length > 1) withPayload('transactions reordered', { transactions: [...b.payload.transactions].reverse() });
  if (b.payload.transactions.length > 0) withPayload('a transaction dropped', { transactions: b.payload.transactions.slice(1) });
  for (const i of pick(rnd, b.payload.withdrawals.length)) {
    for (const field of ['index', 'validatorIndex', 'address', 'amount'] as const) {
      const withdrawals = b.payload.withdrawals.map((w) => ({ ...w }));
      const w = withdrawals[i]!;
      w[field] = field === 'address' ? flipByte(w.address, rnd.int(20)) : flipQuantity(w[field]);
      withPayload(`withdrawal ${i} ${field}`, { withdrawals });
    }
  }
  for (const [i, r] of b.requests.entries()) {
    if (r.length <= 4) continue; // a type byte alone is not hashed (EIP-7685)
    const requests = [...b.requests];
    requests[i] = flipByte(r, 1 + rnd.int(r.length / 2 - 2));
    out.push({ what: `request ${i}`, block: { ...b, requests } });
  }
  return out;
}

/** Up to three distinct indexes below `n`, always including the first and the last. */
function pick(rnd: Rnd, n: number): number[] {
  return n === 0 ? [] : [...new Set([0, n - 1, rnd.int(n)])];
}

test('recorded EL payloads: the task agrees with the EL and with @ethereumjs/block', async (t) => {
  t.true(fixtures.length >= 3, 'the recorded fixtures are there');
  for (const f of fixtures) {
    const { payloadData, requestsData } = encodeBlock({
      executionPayload: f.executionPayload,
      blobCommitments: f.blobsBundle.commitments,
      parentBeaconBlockRoot: f.parentBeaconBlockRoot,
      executionRequests: f.executionRequests,
    });
    const result = verifyPayload({ payloadData, requestsData });
    t.true(result.valid, `${f.fixture.name}: ${result.reason}`);
    t.is(result.computedHash, f.executionPayload.blockHash.toLowerCase(), `${f.fixture.name}: the EL's hash`);
    t.is(result.computedHash, await referenceHash(fromFixture(f), f.executionPayload.blockHash), `${f.fixture.name}: @ethereumjs/block's hash`);
    t.is(result.number, BigInt(f.fixture.blockNumber), f.fixture.name);
    t.is(result.parentHash, f.executionPayload.parentHash.toLowerCase(), f.fixture.name);
  }
  t.true(
    fixtures.some((f) => f.executionPayload.withdrawals.length > 0),
    'a fixture has withdrawals',
  );
  t.true(
    fixtures.some((f) => f.executionRequests.length > 0),
    'a fixture has execution requests',
  );
});

test('random synthetic payloads of every transaction type hash as @ethereumjs/block hashes them', async (t) => {
  const types = new Set<number>();
  for (let i = 0; i < 25; i++) {
    const b = await randomBlock(`synthetic-${i}`);
    for (const tx of b.payload.transactions) {
      const first = parseInt(tx.slice(2, 4), 16);
      types.add(first >= 0xc0 ? 0 : first); // a legacy transaction is an RLP list, typed ones start with their type
    }
    const result = verifyPayload(stored(b));
    t.true(result.valid, `payload ${i}: ${result.reason}`);
    t.is(result.computedHash, b.payload.blockHash, `payload ${i}`);
    t.is(result.number, BigInt(b.payload.blockNumber), `payload ${i}`);
  }
  t.deepEqual([...types].sort(), [0, 1, 2, 3, 4], 'legacy, 2930, 1559, 4844 and 7702 transactions were all covered');
});

test('any single changed byte of a transaction, a withdrawal, a request or a header field makes the payload invalid', async (t) => {
  const blocks = [...fixtures.map(fromFixture), await randomBlock('mutations-a'), await randomBlock('mutations-b')];
  const rnd = seededRandom('mutations');
  for (const [n, b] of blocks.entries()) {
    t.true(verifyPayload(stored(b)).valid, `block ${n} is valid before any change`);
    for (const { what, block } of mutations(b, rnd)) {
      const result = verifyPayload(stored(block));
      t.false(result.valid, `block ${n}: ${what}`);
      t.regex(result.reason ?? '', /block hash mismatch/, `block ${n}: ${what}`);
    }
  }
});

test('versioned hashes must be those of the blob transactions, in order', async (t) => {
  let b = await randomBlock('blobs-0');
  for (let i = 1; b.versionedHashes.length < 2; i++) b = await randomBlock(`blobs-${i}`);
  t.true(verifyPayload(stored(b)).valid);
  const cases = {
    'one hash changed': b.versionedHashes.map((h, i) => (i === 0 ? flipByte(h, 5) : h)),
    'one hash missing': b.versionedHashes.slice(1),
    'one hash extra': [...b.versionedHashes, b.versionedHashes[0]!],
    reordered: [...b.versionedHashes].reverse(),
    none: [],
  };
  for (const [what, versionedHashes] of Object.entries(cases)) {
    const result = verifyPayload(stored({ ...b, versionedHashes }));
    t.false(result.valid, what);
    t.is(result.computedHash, result.claimedHash, `${what}: the header still hashes right`);
    t.regex(result.reason ?? '', /versioned hashes/, what);
  }
});

test('malformed input is a typed error naming the field, never an untyped crash', async (t) => {
  const b = await randomBlock('malformed');
  const good = stored(b);
  const payload = (patch: Record<string, unknown>) => stored({ ...b, payload: { ...b.payload, ...patch } as ExecutionPayloadV3 });
  const cases: Array<[string, unknown, VerifyPayloadErrorCode, string]> = [
    ['payloadData a cut msgpack string', { ...good, payloadData: Uint8Array.of(0xd9, 0x10, 0x41) }, VerifyPayloadErrorCode.UNDECODABLE, 'payloadData'],
    ['payloadData truncated', { ...good, payloadData: good.payloadData.subarray(0, 40) }, VerifyPayloadErrorCode.UNDECODABLE, 'payloadData'],
    ['requestsData a cut msgpack string', { ...good, requestsData: Uint8Array.of(0xd9, 0x10, 0x41) }, VerifyPayloadErrorCode.UNDECODABLE, 'requestsData'],
    ['payloadData not bytes', { ...good, payloadData: 'abc' }, VerifyPayloadErrorCode.MALFORMED, 'payloadData'],
    ['no input at all', undefined, VerifyPayloadErrorCode.MALFORMED, 'payloadData'],
    ['payloadData a number', { ...good, payloadData: encode(7) }, VerifyPayloadErrorCode.MALFORMED, 'payloadData'],
    ['requestsData not a list', { ...good, requestsData: encode({}) }, VerifyPayloadErrorCode.MALFORMED, 'requestsData'],
    ['a request without its type byte', { ...good, requestsData: encode(['0x']) }, VerifyPayloadErrorCode.MALFORMED, 'requestsData[0]'],
    [
      'no executionPayload',
      { ...good, payloadData: encode({ versionedHashes: [], parentBeaconBlockRoot: b.parentBeaconBlockRoot }) },
      VerifyPayloadErrorCode.MALFORMED,
      'executionPayload',
    ],
    ['stateRoot missing', payload({ stateRoot: undefined }), VerifyPayloadErrorCode.MALFORMED, 'executionPayload.stateRoot'],
    ['stateRoot not hex', payload({ stateRoot: `0x${'zz'.repeat(32)}` }), VerifyPayloadErrorCode.MALFORMED, 'executionPayload.stateRoot'],
    ['stateRoot odd length', payload({ stateRoot: `${b.payload.stateRoot}0` }), VerifyPayloadErrorCode.MALFORMED, 'executionPayload.stateRoot'],
    ['stateRoot without 0x', payload({ stateRoot: b.payload.stateRoot.slice(2) }), VerifyPayloadErrorCode.MALFORMED, 'executionPayload.stateRoot'],
    ['stateRoot 31 bytes', payload({ stateRoot: b.payload.stateRoot.slice(0, -2) }), VerifyPayloadErrorCode.MALFORMED, 'executionPayload.stateRoot'],
    ['feeRecipient 32 bytes', payload({ feeRecipient: b.payload.stateRoot }), VerifyPayloadErrorCode.MALFORMED, 'executionPayload.feeRecipient'],
    ['extraData 33 bytes', payload({ extraData: `0x${'ab'.repeat(33)}` }), VerifyPayloadErrorCode.MALFORMED, 'executionPayload.extraData'],
    ['gasUsed a number', payload({ gasUsed: 21_000 }), VerifyPayloadErrorCode.MALFORMED, 'executionPayload.gasUsed'],
    ['gasUsed with a leading zero', payload({ gasUsed: '0x0100' }), VerifyPayloadErrorCode.MALFORMED, 'executionPayload.gasUsed'],
    ['timestamp over 64 bits', payload({ timestamp: `0x1${'0'.repeat(16)}` }), VerifyPayloadErrorCode.MALFORMED, 'executionPayload.timestamp'],
    ['blockNumber negative', payload({ blockNumber: '-0x1' }), VerifyPayloadErrorCode.MALFORMED, 'executionPayload.blockNumber'],
    ['transactions not a list', payload({ transactions: '0x' }), VerifyPayloadErrorCode.MALFORMED, 'executionPayload.transactions'],
    ['an empty transaction', payload({ transactions: ['0x'] }), VerifyPayloadErrorCode.MALFORMED, 'executionPayload.transactions[0]'],
    ['a transaction not hex', payload({ transactions: ['0x02zz'] }), VerifyPayloadErrorCode.MALFORMED, 'executionPayload.transactions[0]'],
    [
      'a withdrawal without amount',
      payload({ withdrawals: [{ index: '0x0', validatorIndex: '0x1', address: b.payload.feeRecipient }] }),
      VerifyPayloadErrorCode.MALFORMED,
      'executionPayload.withdrawals[0].amount',
    ],
    ['a withdrawal not an object', payload({ withdrawals: ['0x01'] }), VerifyPayloadErrorCode.MALFORMED, 'executionPayload.withdrawals[0]'],
    ['a versioned hash short', stored({ ...b, versionedHashes: ['0x01'] }), VerifyPayloadErrorCode.MALFORMED, 'versionedHashes[0]'],
    [
      'parentBeaconBlockRoot missing',
      stored({ ...b, parentBeaconBlockRoot: undefined as unknown as string }),
      VerifyPayloadErrorCode.MALFORMED,
      'parentBeaconBlockRoot',
    ],
  ];
  for (const [what, input, code, field] of cases) {
    const err = t.throws(() => verifyPayload(input as VerifyPayloadInput), { instanceOf: VerifyPayloadError }, what);
    t.is(err?.code, code, what);
    t.is(err?.meta.field, field, what);
  }
  t.true(verifyPayload(good).valid, 'the unmodified input is valid');
});

test('a blob transaction that is not RLP makes the payload invalid, not a crash', async (t) => {
  const b = await randomBlock('bad-blob-tx');
  const transactions = [...b.payload.transactions, '0x03ffff'];
  const bad = { ...b, payload: { ...b.payload, transactions } };
  // @ethereumjs/block cannot decode that transaction to hash the block: claim the hash the task
  // computes, so that only the blob check can fail the payload.
  bad.payload.blockHash = verifyPayload(stored(bad)).computedHash;
  const result = verifyPayload(stored(bad));
  t.false(result.valid);
  t.regex(result.reason ?? '', new RegExp(`transaction ${transactions.length - 1}: blob transaction`));
});

test('runs on the real pool: results cross the thread, bigints intact', async (t) => {
  const { pool } = createRuntimeModules({ logger: pino({ level: 'silent' }), pool: { tasks: poolTasks, threads: 1 } });
  try {
    for (const f of fixtures) {
      // Copies that own their buffers: msgpack output is a view into the codec's shared buffer.
      const { payloadData, requestsData } = stored(fromFixture(f));
      const input = { payloadData: new Uint8Array(payloadData), requestsData: new Uint8Array(requestsData) };
      const result = await pool.run('verifyPayload', input, [input.payloadData.buffer, input.requestsData.buffer]);
      t.is(input.payloadData.byteLength, 0, 'the payload bytes were moved, not copied');
      t.true(result.valid, f.fixture.name);
      t.is(result.number, BigInt(f.fixture.blockNumber), f.fixture.name);
      t.is(result.computedHash, f.executionPayload.blockHash.toLowerCase(), f.fixture.name);
    }
    const bad = await t.throwsAsync(pool.run('verifyPayload', { payloadData: Uint8Array.of(0xd9, 0x10, 0x41), requestsData: encode([]) }));
    // The worker's VerifyPayloadError crosses the thread as a plain Error: its message survives.
    t.regex(bad?.message ?? '', /payloadData: not msgpack/, 'the worker rejects malformed bytes with its message');
  } finally {
    await pool.destroy();
  }
});
