import { createCustomCommon, Hardfork, Mainnet } from '@ethereumjs/common';
import { createAccessList2930Tx, createLegacyTx, createTxFromRLP, type TypedTransaction } from '@ethereumjs/tx';
import { bigIntToBytes, bytesToHex, hexToBytes, ecrecover as jsEcrecover } from '@ethereumjs/util';
import test from 'ava';
import { DEV_CHAIN_ID } from '../../../src/adapters/executionClient/genesis.js';
import { signTransfer, testAccounts } from '../../../src/adapters/executionClient/testAccounts.js';
import { ecrecover, senderRecovery } from '../../../src/tasks/secp256k1.js';

const CHAIN = BigInt(DEV_CHAIN_ID);
const accounts = testAccounts();
const [alice, bob] = accounts;
const common = createCustomCommon({ chainId: Number(CHAIN) }, Mainnet, { hardfork: Hardfork.Prague });
const SECP256K1_ORDER = 2n ** 256n - 432420386565659656852420866394968145599n;

/** Real signed transactions of each type the mempool takes, from several keys. */
function signedTransactions(): TypedTransaction[] {
  const txs: TypedTransaction[] = [];
  for (const [i, from] of accounts.slice(0, 4).entries()) {
    txs.push(
      createTxFromRLP(hexToBytes(signTransfer({ from, to: bob!.address, valueWei: BigInt(i + 1), nonce: BigInt(i), chainId: CHAIN }).raw as `0x${string}`), {
        common,
      }),
    );
    const fields = { to: bob!.address as `0x${string}`, value: 7n, gasLimit: 21_000n, nonce: BigInt(i), gasPrice: 10n ** 10n };
    txs.push(createLegacyTx(fields, { common }).sign(hexToBytes(from.privateKey as `0x${string}`)));
    txs.push(createAccessList2930Tx({ ...fields, chainId: CHAIN }, { common }).sign(hexToBytes(from.privateKey as `0x${string}`)));
  }
  return txs;
}

/** v as `@ethereumjs/tx` hands it to `ecrecover`: y-parity for typed transactions, EIP-155 v for legacy ones. */
const recoverWith = (recover: typeof ecrecover, tx: TypedTransaction) =>
  recover(tx.getMessageToVerifySignature() as Uint8Array, tx.v!, bigIntToBytes(tx.r!), bigIntToBytes(tx.s!), tx.type === 0 ? CHAIN : undefined);

test('the native libsecp256k1 binding loads here (CI checks it after npm ci too)', (t) => {
  t.deepEqual(senderRecovery, { native: true });
});

test('native recovery gives the same public key as the JavaScript one on real signed transactions of every type', (t) => {
  const txs = signedTransactions();
  t.is(txs.length, 12);
  for (const tx of txs) {
    const native = recoverWith(ecrecover, tx);
    t.is(native.length, 64);
    t.is(bytesToHex(native), bytesToHex(recoverWith(jsEcrecover, tx)), `type ${tx.type} from ${tx.getSenderAddress()}`);
  }
});

test('malformed signatures are refused by both: r or s zero or not below the order, a recovery id other than 0 or 1', (t) => {
  const tx = createTxFromRLP(hexToBytes(signTransfer({ from: alice!, to: bob!.address, valueWei: 1n, nonce: 0n, chainId: CHAIN }).raw as `0x${string}`), {
    common,
  });
  const hash = tx.getMessageToVerifySignature() as Uint8Array;
  const r = bigIntToBytes(tx.r!);
  const s = bigIntToBytes(tx.s!);
  const cases: Array<[string, bigint, Uint8Array, Uint8Array]> = [
    ['r = 0', 0n, new Uint8Array(32), s],
    ['s = 0', 0n, r, new Uint8Array(32)],
    ['r = n', 0n, bigIntToBytes(SECP256K1_ORDER), s],
    ['s = n', 0n, r, bigIntToBytes(SECP256K1_ORDER)],
    ['v = 2', 2n, r, s],
  ];
  for (const [name, v, badR, badS] of cases) {
    t.throws(() => jsEcrecover(hash, v, badR, badS), undefined, `JavaScript, ${name}`);
    t.throws(() => ecrecover(hash, v, badR, badS), undefined, `native, ${name}`);
  }
});
