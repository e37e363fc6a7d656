import test from 'ava';
import pino from 'pino';
import { EngineError, EngineErrorCode } from '../../../../src/adapters/engine/errors.js';
import { DEV_CHAIN_ID } from '../../../../src/adapters/executionClient/genesis.js';
import { signTransfer, testAccounts } from '../../../../src/adapters/executionClient/testAccounts.js';
import { engineTxJudge, permanentRejection } from '../../../../src/adapters/mempool/elCheck.js';
import { createRuntimeModules } from '../../../../src/runtime/index.js';
import { poolTasks } from '../../../../src/tasks/index.js';

test('EL refusals that waiting cannot fix map to a category; others keep the transaction', (t) => {
  const cases: Array<[string, string | null]> = [
    ['nonce too low: address 0xabc, tx: 1 state: 2', 'nonce too low'], // Geth
    ['0xabc tries to send a tx with nonce 1, but account has nonce 2 (tx nonce too low)', 'nonce too low'], // @ethereumjs/client
    ['insufficient funds for gas * price + value: balance 0', 'insufficient funds'],
    ['0xabc does not have enough balance to cover transaction costs, need 5, but have 0 (insufficient balance)', 'insufficient funds'],
    ['intrinsic gas too low: have 20000, want 21000', 'intrinsic gas too low'],
    ['Tx gaslimit of 9 exceeds block gas limit of 8 (exceeds last block gas limit)', 'exceeds block gas limit'],
    ['transaction underpriced', 'underpriced'], // Geth, below --txpool.pricelimit
    ['already known', null],
    ['replacement transaction underpriced', null],
    ['txpool is full', null],
  ];
  for (const [message, reason] of cases) t.is(permanentRejection(message), reason, message);
});

const CHAIN = BigInt(DEV_CHAIN_ID);
const [sender, other] = testAccounts();
const pool = createRuntimeModules({ logger: pino({ level: 'silent' }), pool: { tasks: poolTasks, inline: true } }).pool;

/** A judge on a scripted EL: the sender's account nonce, the head's base fee, and what resubmission answers. */
function judgeOn(el: { stateNonce: bigint; baseFee?: bigint; resubmit: () => Promise<string> }, heldNonces: bigint[] = []) {
  const resubmitted: string[] = [];
  const judge = engineTxJudge({
    engine: {
      getTransactionCount: async (address) => (address === sender!.address.toLowerCase() ? el.stateNonce : 0n),
      getBlockByNumber: async () => ({
        number: 9n,
        hash: '0x09',
        parentHash: '0x08',
        timestamp: 9n,
        ...(el.baseFee === undefined ? {} : { baseFeePerGas: el.baseFee }),
      }),
      sendRawTransaction: async (raw) => {
        resubmitted.push(raw);
        return el.resubmit();
      },
    },
    pool,
    chainId: CHAIN,
    mempool: { senderNonces: async (from) => (from === sender!.address.toLowerCase() ? heldNonces : []) },
  });
  return { judge, resubmitted };
}

const transfer = (nonce: bigint, fees: { maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint } = {}) =>
  signTransfer({ from: sender!, to: other!.address, valueWei: 1n, nonce, chainId: CHAIN, ...fees });
const signal = new AbortController().signal;
const accepted = async () => '0x01';

test('a nonce below the account nonce is dropped as used, in Geth’s words, without resubmitting it', async (t) => {
  const { judge, resubmitted } = judgeOn({ stateNonce: 3n, baseFee: 7n, resubmit: accepted });
  const tx = transfer(2n);
  t.deepEqual(await judge(tx, signal), { action: 'drop', reason: `nonce too low: address ${sender!.address.toLowerCase()}, tx: 2 state: 3` });
  t.deepEqual(resubmitted, []);
});

test('a nonce gap not filled by held transactions is queued, naming the missing nonce; held ones fill it', async (t) => {
  const gapped = judgeOn({ stateNonce: 3n, baseFee: 7n, resubmit: accepted }, [3n, 5n]);
  t.deepEqual(await gapped.judge(transfer(5n), signal), {
    action: 'queue',
    reason: `nonce gap: address ${sender!.address.toLowerCase()}, tx: 5 waits for nonce 4 (state: 3)`,
  });
  t.deepEqual(gapped.resubmitted, [], 'a queued transaction is not resubmitted');
  const filled = judgeOn({ stateNonce: 3n, baseFee: 7n, resubmit: accepted }, [3n, 4n, 5n]);
  t.deepEqual(await filled.judge(transfer(5n), signal), { action: 'keep' });
  t.is(filled.resubmitted.length, 1, 'behind held nonces only: resubmitted, kept');
});

test('a fee cap below the head’s base fee is dropped as underpriced; at the base fee it is kept', async (t) => {
  const { judge } = judgeOn({ stateNonce: 0n, baseFee: 7n, resubmit: accepted });
  t.deepEqual(await judge(transfer(0n, { maxFeePerGas: 1n, maxPriorityFeePerGas: 1n }), signal), {
    action: 'drop',
    reason: `max fee per gas less than block base fee: address ${sender!.address.toLowerCase()}, maxFeePerGas: 1, baseFee: 7`,
  });
  t.deepEqual(await judge(transfer(0n, { maxFeePerGas: 7n, maxPriorityFeePerGas: 1n }), signal), { action: 'keep' });
  const preLondon = judgeOn({ stateNonce: 0n, resubmit: accepted });
  t.deepEqual(await preLondon.judge(transfer(0n, { maxFeePerGas: 1n, maxPriorityFeePerGas: 1n }), signal), { action: 'keep' }, 'no base fee, no fee rule');
});

test('resubmission: a final EL refusal drops with the EL’s words, a passing one keeps, a transport failure throws', async (t) => {
  let answer: () => Promise<string> = accepted;
  const { judge } = judgeOn({ stateNonce: 0n, baseFee: 7n, resubmit: () => answer() });
  const tx = transfer(0n);
  answer = () =>
    Promise.reject(
      new EngineError(EngineErrorCode.RPC, 'eth_sendRawTransaction: RPC error -32000: 0xabc does not have enough balance (insufficient balance)', {
        rpcCode: -32000,
      }),
    );
  t.deepEqual(await judge(tx, signal), { action: 'drop', reason: 'insufficient funds: 0xabc does not have enough balance (insufficient balance)' });
  answer = () => Promise.reject(new EngineError(EngineErrorCode.RPC, 'eth_sendRawTransaction: RPC error -32000: already known', { rpcCode: -32000 }));
  t.deepEqual(await judge(tx, signal), { action: 'keep' });
  answer = () => Promise.reject(new EngineError(EngineErrorCode.UNREACHABLE, 'connection refused: nonce too low'));
  const err = await t.throwsAsync(judge(tx, signal));
  t.is((err as EngineError).code, EngineErrorCode.UNREACHABLE, 'an unreachable EL says nothing about the transaction');
});
