import { createCustomCommon, Hardfork, Mainnet } from '@ethereumjs/common';
import { createAccessList2930Tx, createFeeMarket1559Tx, createLegacyTx } from '@ethereumjs/tx';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import test from 'ava';
import pino from 'pino';
import { DEV_CHAIN_ID } from '../../../src/adapters/executionClient/genesis.js';
import { signTransfer, testAccounts } from '../../../src/adapters/executionClient/testAccounts.js';
import { createRuntimeModules } from '../../../src/runtime/index.js';
import { type DecodedTransaction, type DecodeTransactionResult, decodeTransaction } from '../../../src/tasks/decodeTransaction.js';
import { poolTasks } from '../../../src/tasks/index.js';

const CHAIN = BigInt(DEV_CHAIN_ID);
const [alice, bob] = testAccounts();
const key = (hex: string) => hexToBytes(hex.slice(2));
const common = (chainId: bigint, hardfork: Hardfork = Hardfork.Prague) => createCustomCommon({ chainId: Number(chainId) }, Mainnet, { hardfork });
const transfer = { to: bob!.address as `0x${string}`, value: 1_000n, gasLimit: 21_000n, nonce: 3n };

function decoded(t: import('ava').ExecutionContext, result: DecodeTransactionResult): DecodedTransaction {
  if (!result.ok) t.fail(`expected a transaction, got ${result.error.code}: ${result.error.message}`);
  return (result as { tx: DecodedTransaction }).tx;
}

function refusedWith(t: import('ava').ExecutionContext, result: DecodeTransactionResult, code: string): void {
  t.false(result.ok, `expected ${code}`);
  if (!result.ok) t.is(result.error.code, code, result.error.message);
}

test('an EIP-1559 transfer from signTransfer decodes with its sender, hash and fields', (t) => {
  const signed = signTransfer({ from: alice!, to: bob!.address, valueWei: 5n, nonce: 7n, chainId: CHAIN });
  const tx = decoded(t, decodeTransaction({ raw: key(signed.raw), chainId: CHAIN }));
  t.is(tx.hash, signed.hash);
  t.is(tx.from, alice!.address.toLowerCase());
  t.is(tx.to, bob!.address.toLowerCase());
  t.is(tx.nonce, 7n);
  t.is(tx.value, 5n);
  t.is(tx.chainId, CHAIN);
  t.is(tx.type, 2);
  t.is(tx.gasLimit, 21_000n);
});

test('EIP-155 legacy and EIP-2930 transactions decode too', (t) => {
  const legacy = createLegacyTx({ ...transfer, gasPrice: 10n ** 10n }, { common: common(CHAIN) }).sign(key(alice!.privateKey));
  const fromLegacy = decoded(t, decodeTransaction({ raw: legacy.serialize(), chainId: CHAIN }));
  t.is(fromLegacy.type, 0);
  t.is(fromLegacy.from, alice!.address.toLowerCase());
  t.is(fromLegacy.hash, `0x${bytesToHex(legacy.hash())}`);

  const accessList = createAccessList2930Tx({ ...transfer, gasPrice: 10n ** 10n, chainId: CHAIN }, { common: common(CHAIN) }).sign(key(alice!.privateKey));
  const from2930 = decoded(t, decodeTransaction({ raw: accessList.serialize(), chainId: CHAIN }));
  t.is(from2930.type, 1);
  t.is(from2930.nonce, 3n);
});

test('malformed bytes are TX_MALFORMED', (t) => {
  refusedWith(t, decodeTransaction({ raw: new Uint8Array(), chainId: CHAIN }), 'TX_MALFORMED');
  refusedWith(t, decodeTransaction({ raw: Uint8Array.of(0xde, 0xad, 0xbe, 0xef), chainId: CHAIN }), 'TX_MALFORMED');
  refusedWith(t, decodeTransaction({ raw: Uint8Array.of(0x09, 0xc0), chainId: CHAIN }), 'TX_MALFORMED');
  const signed = key(signTransfer({ from: alice!, to: bob!.address, valueWei: 1n, nonce: 0n, chainId: CHAIN }).raw);
  refusedWith(t, decodeTransaction({ raw: signed.subarray(0, signed.length - 5), chainId: CHAIN }), 'TX_MALFORMED');
});

test('a transaction signed for another chain is TX_WRONG_CHAIN, typed or legacy', (t) => {
  const typed = key(signTransfer({ from: alice!, to: bob!.address, valueWei: 1n, nonce: 0n, chainId: 1n }).raw);
  const result = decodeTransaction({ raw: typed, chainId: CHAIN });
  refusedWith(t, result, 'TX_WRONG_CHAIN');
  if (!result.ok) t.is(result.error.meta?.chainId, '1');
  const legacy = createLegacyTx({ ...transfer, gasPrice: 10n ** 10n }, { common: common(5n) }).sign(key(alice!.privateKey));
  refusedWith(t, decodeTransaction({ raw: legacy.serialize(), chainId: CHAIN }), 'TX_WRONG_CHAIN');
});

test('unsigned transactions are TX_UNSIGNED', (t) => {
  const unsigned1559 = createFeeMarket1559Tx({ ...transfer, chainId: CHAIN, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n }, { common: common(CHAIN) });
  refusedWith(t, decodeTransaction({ raw: unsigned1559.serialize(), chainId: CHAIN }), 'TX_UNSIGNED');
  const unsignedLegacy = createLegacyTx({ ...transfer, gasPrice: 10n }, { common: common(CHAIN) });
  refusedWith(t, decodeTransaction({ raw: unsignedLegacy.serialize(), chainId: CHAIN }), 'TX_UNSIGNED');
});

test('a pre-EIP-155 legacy signature is TX_UNPROTECTED: it would be valid on every chain', (t) => {
  const unprotected = createLegacyTx({ ...transfer, gasPrice: 10n ** 10n }, { common: common(CHAIN, Hardfork.Homestead) }).sign(key(alice!.privateKey));
  t.true(unprotected.v === 27n || unprotected.v === 28n);
  refusedWith(t, decodeTransaction({ raw: unprotected.serialize(), chainId: CHAIN }), 'TX_UNPROTECTED');
});

test('a signature that recovers no sender is TX_INVALID_SIGNATURE; too little gas is TX_INVALID', (t) => {
  const n = 2n ** 256n - 432420386565659656852420866394968145599n; // secp256k1 order
  const forged = createFeeMarket1559Tx(
    { ...transfer, chainId: CHAIN, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n, v: 0n, r: n - 1n, s: 1n },
    { common: common(CHAIN) },
  );
  refusedWith(t, decodeTransaction({ raw: forged.serialize(), chainId: CHAIN }), 'TX_INVALID_SIGNATURE');
  const starved = createFeeMarket1559Tx(
    { ...transfer, gasLimit: 20_000n, chainId: CHAIN, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n },
    { common: common(CHAIN) },
  ).sign(key(alice!.privateKey));
  refusedWith(t, decodeTransaction({ raw: starved.serialize(), chainId: CHAIN }), 'TX_INVALID');
});

test('on a real pool thread the input buffer is moved and a refusal keeps its code', async (t) => {
  const { pool } = createRuntimeModules({ logger: pino({ level: 'silent' }), pool: { tasks: poolTasks, threads: 1 } });
  t.teardown(() => pool.destroy());
  const signed = signTransfer({ from: alice!, to: bob!.address, valueWei: 1n, nonce: 0n, chainId: CHAIN });
  const raw = key(signed.raw);
  const ok = await pool.run('decodeTransaction', { raw, chainId: CHAIN }, [raw.buffer as ArrayBuffer]);
  t.is(raw.byteLength, 0, 'the caller no longer owns the bytes');
  t.is(decoded(t, ok).hash, signed.hash);
  const wrongChain = key(signTransfer({ from: alice!, to: bob!.address, valueWei: 1n, nonce: 0n, chainId: 1n }).raw);
  refusedWith(t, await pool.run('decodeTransaction', { raw: wrongChain, chainId: CHAIN }), 'TX_WRONG_CHAIN');
});
