import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBlockFromExecutionPayload, createBlockHeaderFromBytesArray } from '@ethereumjs/block';
import { createCustomCommon, Hardfork, Mainnet } from '@ethereumjs/common';
import test from 'ava';
import { EngineError, EngineErrorCode } from '../../src/adapters/engine/errors.js';
import { HttpEngineClient } from '../../src/adapters/engine/http.js';
import { parseJwtSecret, readJwtSecretFile } from '../../src/adapters/engine/jwt.js';
import { engineOptions } from '../../src/adapters/engine/options.js';
import { type EmbeddedEl, startEmbeddedEl } from '../../src/adapters/executionClient/embedded.js';
import { ExecutionClientError, ExecutionClientErrorCode } from '../../src/adapters/executionClient/errors.js';
import { freePorts } from '../../src/adapters/executionClient/freePort.js';
import { DEV_CHAIN_ID, devGenesis } from '../../src/adapters/executionClient/genesis.js';
import { signTransfer, testAccounts } from '../../src/adapters/executionClient/testAccounts.js';
import type { ElBlock, ExecutionPayloadV3, GetPayloadV4Response } from '../../src/types/engine.js';

/** One block as a member receives it: everything `newPayloadV4` needs. */
interface BuiltBlock {
  built: GetPayloadV4Response;
  parentBeaconBlockRoot: string;
}

const dirs: string[] = [];
const running: EmbeddedEl[] = [];
let el: EmbeddedEl;
let engine: HttpEngineClient;
/** Every block imported into `el`, in order, for the second EL to replay. */
const chain: BuiltBlock[] = [];
/** The transfer included by the transaction test; the member must execute it too. */
let transferHash = '';

const hex32 = (): string => `0x${randomBytes(32).toString('hex')}`;
const clientFor = (node: EmbeddedEl): HttpEngineClient =>
  new HttpEngineClient(engineOptions({ url: node.engineUrl, rpcUrl: node.rpcUrl, jwtSecret: node.jwtSecret }));

async function start(dataDir?: string): Promise<EmbeddedEl> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'baton-engine-')));
  if (dataDir === undefined) dirs.push(dir);
  const node = await startEmbeddedEl({ dataDir: dir });
  running.push(node);
  return node;
}

async function head(client: HttpEngineClient): Promise<ElBlock> {
  const block = await client.getBlockByNumber('latest');
  if (block === null) throw new Error('no latest block');
  return block;
}

/** fcU with attributes on top of `parent`, then getPayload: what the leader's Builder does. */
async function build(client: HttpEngineClient, parent: ElBlock): Promise<BuiltBlock> {
  const parentBeaconBlockRoot = hex32();
  const timestamp = BigInt(Math.max(Number(parent.timestamp) + 1, Math.floor(Date.now() / 1000)));
  const fcu = await client.forkchoiceUpdatedV3(
    { headBlockHash: parent.hash, safeBlockHash: parent.hash, finalizedBlockHash: parent.hash },
    {
      timestamp: `0x${timestamp.toString(16)}`,
      prevRandao: hex32(),
      suggestedFeeRecipient: testAccounts()[9]!.address,
      withdrawals: [],
      parentBeaconBlockRoot,
    },
  );
  if (fcu.payloadStatus.status !== 'VALID' || fcu.payloadId === null) {
    throw new Error(`fcU did not start a build: ${JSON.stringify(fcu)}`);
  }
  return { built: await client.getPayloadV4(fcu.payloadId), parentBeaconBlockRoot };
}

/** newPayload then fcU to it: what the Publisher (and a member's Executor) does. */
async function importBlock(client: HttpEngineClient, block: BuiltBlock): Promise<void> {
  const { executionPayload, executionRequests } = block.built;
  const status = await client.newPayloadV4(executionPayload, [], block.parentBeaconBlockRoot, executionRequests);
  if (status.status !== 'VALID') throw new Error(`newPayload ${executionPayload.blockNumber}: ${JSON.stringify(status)}`);
  const hash = executionPayload.blockHash;
  const fcu = await client.forkchoiceUpdatedV3({ headBlockHash: hash, safeBlockHash: hash, finalizedBlockHash: hash });
  if (fcu.payloadStatus.status !== 'VALID') throw new Error(`fcU ${hash}: ${JSON.stringify(fcu)}`);
}

/**
 * The payload with another state root and a block hash recomputed to match, so the EL can only
 * find the fault by executing the block. The original is rebuilt first to prove the hashing inputs.
 */
async function withStateRoot(block: BuiltBlock, stateRoot: string): Promise<ExecutionPayloadV3> {
  const common = createCustomCommon({ chainId: DEV_CHAIN_ID }, Mainnet, { hardfork: Hardfork.Prague });
  const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
  const bytes = (h: string): Buffer => Buffer.from(h.slice(2), 'hex');
  // EIP-7685: sha256 over the sha256 of each non-empty request.
  const requestsHash = sha256(Buffer.concat(block.built.executionRequests.map((r) => sha256(bytes(r)))));
  const payload = {
    ...block.built.executionPayload,
    parentBeaconBlockRoot: block.parentBeaconBlockRoot,
    requestsHash: `0x${requestsHash.toString('hex')}`,
  } as Parameters<typeof createBlockFromExecutionPayload>[0];
  const original = await createBlockFromExecutionPayload(payload, { common }); // throws on a hash mismatch
  const raw = original.header.raw();
  raw[3] = bytes(stateRoot); // header field 3 is stateRoot
  const blockHash = `0x${Buffer.from(createBlockHeaderFromBytesArray(raw, { common }).hash()).toString('hex')}`;
  return { ...block.built.executionPayload, stateRoot, blockHash };
}

test.before(async () => {
  el = await start();
  engine = clientFor(el);
});

test.after.always(async () => {
  await Promise.all(running.map((node) => node.stop()));
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

test.serial('test accounts are the well-known mnemonic accounts', (t) => {
  const accounts = testAccounts();
  t.is(accounts.length, 10);
  t.is(accounts[0]!.address, '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
  t.is(accounts[0]!.privateKey, '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
  t.is(accounts[1]!.address, '0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
  t.is(accounts[9]!.address, '0xa0Ee7A142d267C1f36714E4a8F75612F20a79720');
});

test.serial('the embedded EL reports its chain and announces the V3/V4 engine methods', async (t) => {
  t.is(el.chainId, BigInt(DEV_CHAIN_ID));
  t.is(await engine.chainId(), el.chainId);
  const capabilities = await engine.exchangeCapabilities();
  for (const m of ['engine_forkchoiceUpdatedV3', 'engine_getPayloadV4', 'engine_newPayloadV4']) {
    t.true(capabilities.includes(m), `missing ${m}`);
  }
  t.is((await head(engine)).number, 0n);
});

test.serial('builds, validates and moves the head for several blocks', async (t) => {
  for (let i = 1n; i <= 3n; i++) {
    const parent = await head(engine);
    const block = await build(engine, parent);
    const payload = block.built.executionPayload;
    t.is(BigInt(payload.blockNumber), parent.number + 1n, `block ${i} number`);
    t.is(payload.parentHash, parent.hash, `block ${i} parent`);
    t.deepEqual(block.built.executionRequests, [], `block ${i} requests`);
    await importBlock(engine, block);
    chain.push(block);
    const latest = await head(engine);
    t.is(latest.hash, payload.blockHash, `block ${i} is the head`);
    t.is((await engine.getBlockByNumber(latest.number))?.hash, payload.blockHash, `block ${i} by number`);
  }
});

test.serial('a transaction sent after the first fcU is included in the next built block', async (t) => {
  const [alice, bob] = testAccounts();
  const tx = signTransfer({ from: alice!, to: bob!.address, valueWei: 10n ** 18n, nonce: 0n, chainId: el.chainId });
  t.is(await engine.sendRawTransaction(tx.raw), tx.hash);
  transferHash = tx.hash;
  const block = await build(engine, await head(engine));
  t.deepEqual(block.built.executionPayload.transactions, [tx.raw]);
  await importBlock(engine, block);
  chain.push(block);
  const receipt = await engine.getTransactionReceipt(tx.hash);
  t.is(receipt?.status, '0x1');
  t.is(receipt?.blockHash, block.built.executionPayload.blockHash);
});

test.serial('a payload with an altered field is not VALID, and does not poison the real one', async (t) => {
  const block = await build(engine, await head(engine));
  const payload = block.built.executionPayload;
  const { parentBeaconBlockRoot } = block;
  const requests = block.built.executionRequests;
  const hashKept = await engine.newPayloadV4({ ...payload, stateRoot: hex32() }, [], parentBeaconBlockRoot, requests);
  t.true(hashKept.status === 'INVALID' || hashKept.status === 'INVALID_BLOCK_HASH', `hash kept: ${hashKept.status}`);
  const rehashed = await withStateRoot(block, hex32());
  const executed = await engine.newPayloadV4(rehashed, [], parentBeaconBlockRoot, requests);
  t.is(executed.status, 'INVALID', 'a consistent hash over a wrong state root is found by execution');
  t.is(executed.latestValidHash, payload.parentHash);
  await importBlock(engine, block);
  chain.push(block);
  t.is((await head(engine)).hash, payload.blockHash);
});

test.serial('a wrong JWT secret is a typed ENGINE_UNAUTHORIZED error', async (t) => {
  const wrong = new HttpEngineClient(engineOptions({ url: el.engineUrl, jwtSecret: randomBytes(32) }));
  const err = await t.throwsAsync(wrong.exchangeCapabilities(), { instanceOf: EngineError });
  t.is(err?.code, EngineErrorCode.UNAUTHORIZED);
});

test.serial('an unreachable EL is a typed error, quickly', async (t) => {
  const [port] = await freePorts(1);
  const dead = new HttpEngineClient(engineOptions({ url: `http://127.0.0.1:${port}`, jwtSecret: el.jwtSecret }));
  const t0 = Date.now();
  const err = await t.throwsAsync(dead.exchangeCapabilities(), { instanceOf: EngineError });
  t.is(err?.code, EngineErrorCode.UNREACHABLE);
  t.true(Date.now() - t0 < 1_000, `took ${Date.now() - t0} ms`);
});

test.serial('an aborted signal aborts the call, also for serialised methods', async (t) => {
  const signal = AbortSignal.abort();
  const a = await t.throwsAsync(engine.exchangeCapabilities({ signal }), { instanceOf: EngineError });
  t.is(a?.code, EngineErrorCode.ABORTED);
  const h = (await head(engine)).hash;
  const state = { headBlockHash: h, safeBlockHash: h, finalizedBlockHash: h };
  const b = await t.throwsAsync(engine.forkchoiceUpdatedV3(state, null, { signal }), { instanceOf: EngineError });
  t.is(b?.code, EngineErrorCode.ABORTED);
  t.is((await engine.forkchoiceUpdatedV3(state)).payloadStatus.status, 'VALID', 'the queue still works');
});

test.serial('JWT secrets: hex with or without 0x parses; malformed input names the flag', async (t) => {
  const hex = randomBytes(32).toString('hex');
  t.deepEqual(parseJwtSecret(`0x${hex}`, '--jwt-secret'), parseJwtSecret(`${hex}\n`, '--jwt-secret'));
  t.is(parseJwtSecret(hex, '--jwt-secret').length, 32);
  for (const bad of ['', '0x1234', `${hex}00`, `0x${hex.slice(2)}zz`]) {
    const err = t.throws(() => parseJwtSecret(bad, '--jwt-secret'), { instanceOf: EngineError }, `input ${bad}`);
    t.is(err?.code, EngineErrorCode.JWT_SECRET_INVALID);
    t.regex(err?.message ?? '', /--jwt-secret\b/);
  }
  const file = join(dirs[0]!, 'bad-jwt.hex');
  await writeFile(file, 'not a secret\n');
  const err = await t.throwsAsync(readJwtSecretFile(file), { instanceOf: EngineError });
  t.regex(err?.message ?? '', /--jwt-secret-file/);
  t.true(err?.message.includes(file));
});

test.serial("a second EL with the default genesis has the same genesis and executes the first one's blocks", async (t) => {
  const member = await start();
  const client = clientFor(member);
  t.is((await client.getBlockByNumber(0))?.hash, (await engine.getBlockByNumber(0))?.hash, 'genesis hash');
  t.true(chain.length >= 5);
  // Fired without awaiting: only the client's serialisation keeps parent before child, payload before fcU.
  const statuses = await Promise.all(
    chain.flatMap(({ built: { executionPayload: p, executionRequests }, parentBeaconBlockRoot }) => {
      const h = p.blockHash;
      return [
        client.newPayloadV4(p, [], parentBeaconBlockRoot, executionRequests).then((s) => s.status),
        client.forkchoiceUpdatedV3({ headBlockHash: h, safeBlockHash: h, finalizedBlockHash: h }).then((r) => r.payloadStatus.status),
      ];
    }),
  );
  t.deepEqual(
    statuses,
    statuses.map(() => 'VALID'),
  );
  t.is((await head(client)).hash, (await head(engine)).hash);
  const receipt = await client.getTransactionReceipt(transferHash);
  t.is(receipt?.status, '0x1', 'the transfer executed on the member too');
});

test.serial('--genesis: a genesis the client rejects fails the start with the log tail', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'baton-engine-'));
  dirs.push(dir);
  const genesis = devGenesis();
  genesis.config.eip158Block = 1; // the client requires EIP-155 and EIP-158 together
  const genesisPath = join(dir, 'broken.json');
  await writeFile(genesisPath, JSON.stringify(genesis));
  const err = await t.throwsAsync(startEmbeddedEl({ dataDir: join(dir, 'el'), genesisPath }), {
    instanceOf: ExecutionClientError,
  });
  t.is(err?.code, ExecutionClientErrorCode.START_FAILED);
  t.regex(err?.message ?? '', /EIP155 block number must equal EIP 158/);
});

test.serial("--genesis differing from the data dir's chain is refused before spawning", async (t) => {
  const genesis = devGenesis();
  genesis.config.chainId = 4242;
  const genesisPath = join(dirs[0]!, 'other.json');
  await writeFile(genesisPath, JSON.stringify(genesis));
  const err = await t.throwsAsync(startEmbeddedEl({ dataDir: el.dataDir, genesisPath }), {
    instanceOf: ExecutionClientError,
  });
  t.is(err?.code, ExecutionClientErrorCode.GENESIS_MISMATCH);
});

test.serial('restarting on the same data dir keeps the head, the secret and the ability to build', async (t) => {
  const before = await head(engine);
  const { dataDir, jwtSecret } = el;
  await el.stop();
  el = await start(dataDir);
  engine = clientFor(el);
  t.deepEqual(el.jwtSecret, jwtSecret);
  t.is((await head(engine)).hash, before.hash);
  const block = await build(engine, before);
  await importBlock(engine, block);
  t.is((await head(engine)).number, before.number + 1n);
});
