import test from 'ava';
import { DEV_CHAIN_ID } from '../../../src/adapters/executionClient/genesis.js';
import { signTransfer, testAccounts } from '../../../src/adapters/executionClient/testAccounts.js';
import { pendingTransactionJson } from '../../../src/tasks/pendingTransactionJson.js';

const CHAIN = BigInt(DEV_CHAIN_ID);
const [sender, receiver] = testAccounts();

test("a held transfer decodes to Geth's pending shape: sender recovered, block fields null", (t) => {
  const signed = signTransfer({ from: sender!, to: receiver!.address, valueWei: 12345n, nonce: 7n, chainId: CHAIN });
  const json = pendingTransactionJson({ raw: Buffer.from(signed.raw.slice(2), 'hex'), chainId: CHAIN });
  t.like(json, {
    hash: signed.hash,
    from: sender!.address.toLowerCase(),
    to: receiver!.address.toLowerCase(),
    nonce: '0x7',
    value: '0x3039',
    gas: '0x5208',
    input: '0x',
    type: '0x2',
    chainId: '0x7a69',
    blockHash: null,
    blockNumber: null,
    transactionIndex: null,
  });
  t.is(json?.gasPrice, json?.maxFeePerGas, 'before inclusion a dynamic-fee transaction reports its fee cap as gasPrice');
  t.truthy(json?.r && json?.s && json?.yParity !== undefined);
});

test('bytes that are not a transaction give null, not a crash', (t) => {
  t.is(pendingTransactionJson({ raw: Uint8Array.of(0x02, 0xde, 0xad), chainId: CHAIN }), null);
});
