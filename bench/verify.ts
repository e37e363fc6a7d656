/**
 * Block-hash verification bench (`npx tsx bench/verify.ts [--quick]`): what a member pays to
 * recompute the hash of a recorded 1,400-transaction payload (DESIGN §9: ≥ 20× faster than
 * @ethereumjs/block, same run). Baton's `verifyPayload` task runs on the calling thread and
 * through the real pool; the baseline is @ethereumjs/block's `createBlockFromExecutionPayload`
 * on the same payload. The baseline starts from the already-parsed JSON payload with the requests
 * hash handed to it, while the task starts from the stored msgpack bytes: the comparison leans
 * toward the baseline. A second comparison isolates the transactions root.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createBlockFromExecutionPayload, genRequestsRoot } from '@ethereumjs/block';
import { createCommonFromGethGenesis, type GethGenesis, Hardfork } from '@ethereumjs/common';
import { MerklePatriciaTrie } from '@ethereumjs/mpt';
import { RLP } from '@ethereumjs/rlp';
import { createCLRequest } from '@ethereumjs/util';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import pino from 'pino';
import { devGenesis } from '../src/adapters/executionClient/genesis.js';
import { createRuntimeModules } from '../src/runtime/index.js';
import { encodeBlock } from '../src/tasks/encodeBlock.js';
import { poolTasks } from '../src/tasks/index.js';
import { orderedTrieRoot } from '../src/tasks/orderedTrie.js';
import { verifyPayload } from '../src/tasks/verifyPayload.js';
import type { GetPayloadV4Response } from '../src/types/engine.js';
import { percentile, type Row, reportSection } from './stats.js';

const quick = process.argv.includes('--quick');
/** The baseline takes hundreds of ms per run: fewer iterations keep the bench within a minute. */
const BASELINE_RUNS = quick ? 5 : 30;
const BATON_RUNS = quick ? 50 : 300;
/** Runs discarded before measuring: JIT warm-up, WebAssembly keccak and pool workers started. */
const WARMUP = quick ? 3 : 10;

type Fixture = GetPayloadV4Response & { fixture: { name: string; txCount: number }; parentBeaconBlockRoot: string };

const dir = new URL('./fixtures/payloads/', import.meta.url);
const fixture = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as Fixture)
  .reduce((a, b) => (b.fixture.txCount > a.fixture.txCount ? b : a));
const payload = fixture.executionPayload;

const stored = encodeBlock({
  executionPayload: payload,
  blobCommitments: fixture.blobsBundle.commitments,
  parentBeaconBlockRoot: fixture.parentBeaconBlockRoot,
  executionRequests: fixture.executionRequests,
});
const common = createCommonFromGethGenesis(devGenesis() as unknown as GethGenesis, { chain: 'baton-dev', hardfork: Hardfork.Prague });
const baselinePayload = {
  ...payload,
  parentBeaconBlockRoot: fixture.parentBeaconBlockRoot,
  requestsHash: `0x${bytesToHex(
    genRequestsRoot(
      fixture.executionRequests.map((r) => createCLRequest(hexToBytes(r.slice(2)))),
      sha256,
    ),
  )}`,
} as Parameters<typeof createBlockFromExecutionPayload>[0];
const rawTxs = payload.transactions.map((tx) => hexToBytes(tx.slice(2)));

/** Milliseconds of each of `runs` calls after `WARMUP` unmeasured ones, sorted ascending. */
async function measure(runs: number, fn: () => unknown): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < WARMUP + runs; i++) {
    const started = performance.now();
    await fn();
    if (i >= WARMUP) times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench input broken: ${what}`);
}

console.log(
  `verify bench: fixture ${fixture.fixture.name} (${payload.transactions.length} tx, ${stored.payloadData.length} B stored), ` +
    `${BATON_RUNS} Baton / ${BASELINE_RUNS} baseline runs, Node ${process.version}, ${availableParallelism()} cores${quick ? ' (quick)' : ''}`,
);
const direct = verifyPayload(stored);
check(direct.valid && direct.computedHash === payload.blockHash.toLowerCase(), 'verifyPayload rejects the fixture');
check(bytesToHex((await createBlockFromExecutionPayload(baselinePayload, { common })).hash()) === payload.blockHash.slice(2).toLowerCase(), 'baseline hash');

console.log('measuring @ethereumjs/block createBlockFromExecutionPayload (baseline)…');
const baseline = await measure(BASELINE_RUNS, () => createBlockFromExecutionPayload(baselinePayload, { common }));
console.log('measuring verifyPayload on this thread…');
const onThread = await measure(BATON_RUNS, () => verifyPayload(stored));

console.log('measuring verifyPayload through the pool (1 worker, bytes transferred)…');
const { pool } = createRuntimeModules({ logger: pino({ level: 'silent' }), pool: { tasks: poolTasks, threads: 1 } });
const throughPool = await measure(BATON_RUNS, async () => {
  // The caller owns a copy (as an Executor owns the bytes it read) and moves it to the worker.
  const input = { payloadData: new Uint8Array(stored.payloadData), requestsData: new Uint8Array(stored.requestsData) };
  const result = await pool.run('verifyPayload', input, [input.payloadData.buffer, input.requestsData.buffer]);
  check(result.valid, 'verifyPayload on the pool rejects the fixture');
});
await pool.destroy();

console.log('measuring the transactions root alone: @ethereumjs/mpt (baseline) and the ordered trie…');
const mptRoot = async () => {
  const trie = new MerklePatriciaTrie({ common });
  for (const [i, tx] of rawTxs.entries()) await trie.put(RLP.encode(i), tx);
  return trie.root();
};
check(bytesToHex(await mptRoot()) === bytesToHex(orderedTrieRoot(rawTxs)), 'the two transactions roots differ');
const mptTimes = await measure(BASELINE_RUNS, mptRoot);
const orderedTimes = await measure(BATON_RUNS, () => orderedTrieRoot(rawTxs));

const latency = (figure: string, value: number[], base: number[], p: number): Row => ({
  figure: `${figure} p${p}`,
  value: percentile(value, p),
  unit: 'ms',
  baseline: percentile(base, p),
  higherIsBetter: false,
});
const txs = `${payload.transactions.length.toLocaleString('en-US')} tx`;
const rows: Row[] = [
  latency(`block hash, ${txs}, on this thread`, onThread, baseline, 50),
  latency(`block hash, ${txs}, on this thread`, onThread, baseline, 99),
  latency(`block hash, ${txs}, through the pool`, throughPool, baseline, 50),
  latency(`block hash, ${txs}, through the pool`, throughPool, baseline, 99),
  latency('transactions root alone', orderedTimes, mptTimes, 50),
];
reportSection('Block-hash verification (baseline: @ethereumjs/block createBlockFromExecutionPayload; @ethereumjs/mpt for the root alone)', rows);
