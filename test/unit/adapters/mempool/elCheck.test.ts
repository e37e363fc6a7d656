import test from 'ava';
import { EngineError, EngineErrorCode } from '../../../../src/adapters/engine/errors.js';
import { engineTxCheck, permanentRejection } from '../../../../src/adapters/mempool/elCheck.js';

test('EL refusals that waiting cannot fix map to a drop reason; others keep the transaction', (t) => {
  const cases: Array<[string, string | null]> = [
    ['nonce too low: address 0xabc, tx: 1 state: 2', 'nonce too low'], // Geth
    ['0xabc tries to send a tx with nonce 1, but account has nonce 2 (tx nonce too low)', 'nonce too low'], // @ethereumjs/client
    ['insufficient funds for gas * price + value: balance 0', 'insufficient funds'],
    ['0xabc does not have enough balance to cover transaction costs, need 5, but have 0 (insufficient balance)', 'insufficient funds'],
    ['intrinsic gas too low: have 20000, want 21000', 'intrinsic gas too low'],
    ['Tx gaslimit of 9 exceeds block gas limit of 8 (exceeds last block gas limit)', 'exceeds block gas limit'],
    ['already known', null],
    ['replacement transaction underpriced', null],
    ['txpool is full', null],
  ];
  for (const [message, reason] of cases) t.is(permanentRejection(message), reason, message);
});

test('engineTxCheck: accepted → null, an RPC refusal → its reason, a transport failure → thrown', async (t) => {
  const signal = new AbortController().signal;
  let answer: () => Promise<string> = async () => '0x01';
  const check = engineTxCheck({ sendRawTransaction: (raw) => answer().then((hash) => `${hash}${raw.slice(2)}`) });
  t.is(await check('0x02', signal), null);
  answer = () => Promise.reject(new EngineError(EngineErrorCode.RPC, 'eth_sendRawTransaction: RPC error -32000: nonce too low', { rpcCode: -32000 }));
  t.is(await check('0x02', signal), 'nonce too low');
  answer = () => Promise.reject(new EngineError(EngineErrorCode.RPC, 'eth_sendRawTransaction: RPC error -32000: already known', { rpcCode: -32000 }));
  t.is(await check('0x02', signal), null);
  answer = () => Promise.reject(new EngineError(EngineErrorCode.UNREACHABLE, 'connection refused: nonce too low'));
  const err = await t.throwsAsync(check('0x02', signal));
  t.is((err as EngineError).code, EngineErrorCode.UNREACHABLE, 'an unreachable EL says nothing about the transaction');
});
