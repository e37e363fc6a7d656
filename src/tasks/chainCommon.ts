import { type Common, createCustomCommon, Hardfork, Mainnet } from '@ethereumjs/common';
import { ecrecover } from './secp256k1.js';

/**
 * One Common per chain id and thread: building one copies the whole chain config through JSON,
 * far more than decoding a transaction costs. Prague, so every type the dev chain accepts (up to
 * EIP-7702) decodes. Its `ecrecover` is libsecp256k1's when the native module loaded
 * (`secp256k1.ts`), so every sender recovery on the pool is native.
 */
const commons = new Map<bigint, Common>();

/** The @ethereumjs Common of chain `chainId` (Prague rules), built once per thread. */
export function chainCommon(chainId: bigint): Common {
  let common = commons.get(chainId);
  if (!common) {
    common = createCustomCommon({ chainId: Number(chainId) }, Mainnet, { hardfork: Hardfork.Prague, customCrypto: { ecrecover } });
    commons.set(chainId, common);
  }
  return common;
}
