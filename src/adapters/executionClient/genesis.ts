import { readFile } from 'node:fs/promises';
import { ExecutionClientError, ExecutionClientErrorCode } from './errors.js';
import { testAccounts } from './testAccounts.js';

/** The subset of a Geth genesis JSON that Baton reads; the rest is passed through untouched. */
export interface GethGenesis {
  config: { chainId: number; [key: string]: unknown };
  timestamp: string;
  gasLimit: string;
  difficulty: string;
  nonce: string;
  alloc: Record<string, { balance: string; code?: string; nonce?: string; storage?: Record<string, string> }>;
  [key: string]: unknown;
}

/**
 * 31337: the Hardhat/Anvil dev chain id. Its funded accounts are those tools' accounts, so wallets
 * and scripts configured for a local Hardhat node work unchanged against an embedded Baton chain.
 */
export const DEV_CHAIN_ID = 31337;

/**
 * 2025-01-01T00:00:00Z. Fixed so that every node computes the same genesis hash; in the past so
 * the first block can use the wall clock (a block's timestamp only has to exceed its parent's).
 */
export const DEV_GENESIS_TIMESTAMP = 1_735_689_600;

/**
 * 60 M gas: room for the 1,400-transfer payloads of the budgets (29.4 M gas) with headroom, while
 * a block still executes in well under a second on @ethereumjs/client.
 */
export const DEV_GAS_LIMIT = 60_000_000;

/** 10,000 ETH per test account, the Hardhat/Anvil default. */
const TEST_BALANCE_WEI = 10_000n * 10n ** 18n;

/** Mainnet's deposit contract address; Geth requires one for Prague. No contract is deployed. */
const DEPOSIT_CONTRACT = '0x00000000219ab540356cBB839Cbe05303d7705Fa';

/** EIP-7002/7251 initial `excess` slot: the inhibitor the first system call resets to 0. */
const EXCESS_INHIBITOR = { '0x0000000000000000000000000000000000000000000000000000000000000000': `0x${'f'.repeat(64)}` };

/**
 * Prague system contracts with their mainnet code (as in the Hoodi genesis). @ethereumjs/client
 * tolerates their absence but Geth fails blocks without the EIP-7002/7251 code, and the default
 * genesis must work on any EL an operator points `--genesis` users at.
 */
const SYSTEM_CONTRACTS: GethGenesis['alloc'] = {
  // EIP-4788 beacon block roots
  '0x000f3df6d732807ef1319fb7b8bb8522d0beac02': {
    balance: '0x0',
    nonce: '0x1',
    code: '0x3373fffffffffffffffffffffffffffffffffffffffe14604d57602036146024575f5ffd5b5f35801560495762001fff810690815414603c575f5ffd5b62001fff01545f5260205ff35b5f5ffd5b62001fff42064281555f359062001fff015500',
  },
  // EIP-2935 historical block hashes
  '0x0000f90827f1c53a10cb7a02335b175320002935': {
    balance: '0x0',
    nonce: '0x1',
    code: '0x3373fffffffffffffffffffffffffffffffffffffffe14604657602036036042575f35600143038111604257611fff81430311604257611fff9006545f5260205ff35b5f5ffd5b5f35611fff60014303065500',
  },
  // EIP-7002 execution-layer withdrawal requests
  '0x00000961ef480eb55e80d19ad83579a64c007002': {
    balance: '0x0',
    nonce: '0x1',
    storage: EXCESS_INHIBITOR,
    code: '0x3373fffffffffffffffffffffffffffffffffffffffe1460cb5760115f54807fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff146101f457600182026001905f5b5f82111560685781019083028483029004916001019190604d565b909390049250505036603814608857366101f457346101f4575f5260205ff35b34106101f457600154600101600155600354806003026004013381556001015f35815560010160203590553360601b5f5260385f601437604c5fa0600101600355005b6003546002548082038060101160df575060105b5f5b8181146101835782810160030260040181604c02815460601b8152601401816001015481526020019060020154807fffffffffffffffffffffffffffffffff00000000000000000000000000000000168252906010019060401c908160381c81600701538160301c81600601538160281c81600501538160201c81600401538160181c81600301538160101c81600201538160081c81600101535360010160e1565b910180921461019557906002556101a0565b90505f6002555f6003555b5f54807fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff14156101cd57505f5b6001546002828201116101e25750505f6101e8565b01600290035b5f555f600155604c025ff35b5f5ffd',
  },
  // EIP-7251 consolidation requests
  '0x0000bbddc7ce488642fb579f8b00f3a590007251': {
    balance: '0x0',
    nonce: '0x1',
    storage: EXCESS_INHIBITOR,
    code: '0x3373fffffffffffffffffffffffffffffffffffffffe1460d35760115f54807fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff1461019a57600182026001905f5b5f82111560685781019083028483029004916001019190604d565b9093900492505050366060146088573661019a573461019a575f5260205ff35b341061019a57600154600101600155600354806004026004013381556001015f358155600101602035815560010160403590553360601b5f5260605f60143760745fa0600101600355005b6003546002548082038060021160e7575060025b5f5b8181146101295782810160040260040181607402815460601b815260140181600101548152602001816002015481526020019060030154905260010160e9565b910180921461013b5790600255610146565b90505f6002555f6003555b5f54807fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff141561017357505f5b6001546001828201116101885750505f61018e565b01600190035b5f555f6001556074025ff35b5f5ffd',
  },
};

const ZERO_32 = `0x${'0'.repeat(64)}`;

/**
 * The default chain of embedded nodes: every fork through Prague active at genesis (blocks 0 and
 * timestamps 0), fixed id, time and allocation, so two nodes started anywhere share one genesis
 * hash and can execute each other's blocks.
 */
export function devGenesis(): GethGenesis {
  const alloc: GethGenesis['alloc'] = { ...SYSTEM_CONTRACTS };
  for (const a of testAccounts()) alloc[a.address] = { balance: `0x${TEST_BALANCE_WEI.toString(16)}` };
  return {
    config: {
      chainId: DEV_CHAIN_ID,
      homesteadBlock: 0,
      eip150Block: 0,
      eip155Block: 0,
      eip158Block: 0,
      byzantiumBlock: 0,
      constantinopleBlock: 0,
      petersburgBlock: 0,
      istanbulBlock: 0,
      muirGlacierBlock: 0,
      berlinBlock: 0,
      londonBlock: 0,
      arrowGlacierBlock: 0,
      grayGlacierBlock: 0,
      mergeNetsplitBlock: 0,
      terminalTotalDifficulty: 0,
      terminalTotalDifficultyPassed: true,
      shanghaiTime: 0,
      cancunTime: 0,
      pragueTime: 0,
      depositContractAddress: DEPOSIT_CONTRACT,
      // EIP-7840 values of mainnet; Geth refuses Cancun/Prague configs without them.
      blobSchedule: {
        cancun: { target: 3, max: 6, baseFeeUpdateFraction: 3338477 },
        prague: { target: 6, max: 9, baseFeeUpdateFraction: 5007716 },
      },
    },
    nonce: '0x0',
    timestamp: `0x${DEV_GENESIS_TIMESTAMP.toString(16)}`,
    extraData: '0x',
    gasLimit: `0x${DEV_GAS_LIMIT.toString(16)}`,
    difficulty: '0x0',
    mixHash: ZERO_32,
    coinbase: `0x${'0'.repeat(40)}`,
    number: '0x0',
    parentHash: ZERO_32,
    // 1 gwei: the EIP-1559 initial base fee.
    baseFeePerGas: '0x3b9aca00',
    excessBlobGas: '0x0',
    blobGasUsed: '0x0',
    alloc,
  };
}

/** Reads a Geth genesis JSON as given by `--genesis`, checking only what Baton itself relies on. */
export async function readGenesisFile(path: string): Promise<GethGenesis> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new ExecutionClientError(ExecutionClientErrorCode.GENESIS_INVALID, `--genesis ${path}: ${(e as Error).message}`, { path });
  }
  const g = parsed as Partial<GethGenesis> | null;
  const missing = ['config', 'timestamp', 'gasLimit', 'difficulty', 'nonce', 'alloc'].filter((k) => g?.[k] === undefined);
  if (missing.length > 0 || typeof g?.config?.chainId !== 'number') {
    throw new ExecutionClientError(
      ExecutionClientErrorCode.GENESIS_INVALID,
      `--genesis ${path}: not a Geth genesis (missing ${missing.length > 0 ? missing.join(', ') : 'config.chainId'})`,
      { path },
    );
  }
  return g as GethGenesis;
}
