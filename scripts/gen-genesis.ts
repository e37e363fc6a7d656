/**
 * Writes `deploy/genesis.json`: the embedded EL's dev genesis (Prague active at genesis, chain id
 * 31337, the test mnemonic's accounts prefunded) as a file for Geth in `docker-compose.yml` and
 * `k8s/`. One source, so a Geth chain and an embedded chain share one genesis hash. A test fails
 * when the file and `devGenesis()` drift; rerun `npx tsx scripts/gen-genesis.ts` then.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { devGenesis } from '../src/adapters/executionClient/genesis.js';

export const GENESIS_PATH = fileURLToPath(new URL('../deploy/genesis.json', import.meta.url));

/** The file's exact text: two-space JSON and a final newline. */
export function genesisJson(): string {
  return `${JSON.stringify(devGenesis(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(GENESIS_PATH, genesisJson());
  process.stdout.write(`wrote ${GENESIS_PATH}\n`);
}
