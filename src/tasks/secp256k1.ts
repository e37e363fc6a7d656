import { createRequire } from 'node:module';
import { calculateSigRecovery, concatBytes, ecrecover as jsEcrecover, setLengthLeft } from '@ethereumjs/util';

/** The `ecrecover` shape `@ethereumjs/tx` takes through `common.customCrypto`: the 64-byte public key, no prefix. */
export type Ecrecover = (msgHash: Uint8Array, v: bigint, r: Uint8Array, s: Uint8Array, chainId?: bigint) => Uint8Array;

/** The part of the `secp256k1` package's native binding this module calls. */
interface NativeSecp256k1 {
  ecdsaRecover(signature: Uint8Array, recoveryId: number, msgHash: Uint8Array, compressed: boolean): Uint8Array;
}

/** Which secp256k1 this thread recovers senders with, and why not the native one if not. */
export type SenderRecovery = { native: true } | { native: false; loadError: string };

/**
 * libsecp256k1 through the `secp256k1` package's prebuilt N-API binary (linux x64 glibc/musl, darwin
 * arm64, win32 x64 ship in its npm tarball, so no install script or compiler is needed). Loaded
 * from `secp256k1/bindings`, not the package root: the root silently falls back to the `elliptic`
 * JavaScript code, and a silent ~30× slowdown of the mempool is what this must not hide.
 */
function loadNative(): { binding: NativeSecp256k1 | null; recovery: SenderRecovery } {
  try {
    const binding = createRequire(import.meta.url)('secp256k1/bindings') as NativeSecp256k1;
    return { binding, recovery: { native: true } };
  } catch (err) {
    return { binding: null, recovery: { native: false, loadError: (err as Error).message } };
  }
}

const loaded = loadNative();

/** Whether the native module loaded in this thread; the node logs a fallback once at start. */
export const senderRecovery: SenderRecovery = loaded.recovery;

/**
 * Native sender recovery with `@ethereumjs/util`'s semantics: the same recovery id from v (EIP-155
 * or y-parity), the same refusal of any other id, the same left-padding of r and s. The binding
 * throws on an r or s that is zero or not below the curve order, as the JavaScript one does; high s
 * (EIP-2) is refused by `@ethereumjs/tx` before recovery is called.
 */
function nativeEcrecover(binding: NativeSecp256k1): Ecrecover {
  return (msgHash, v, r, s, chainId) => {
    const recoveryId = calculateSigRecovery(v, chainId);
    if (recoveryId !== 0n && recoveryId !== 1n) throw new Error('Invalid signature v value');
    const signature = concatBytes(setLengthLeft(r, 32), setLengthLeft(s, 32));
    return binding.ecdsaRecover(signature, Number(recoveryId), msgHash, false).subarray(1);
  };
}

/** The `ecrecover` to hand `@ethereumjs/tx`: libsecp256k1 (~40 µs) if it loaded, else @noble's JavaScript (~1–2 ms). */
export const ecrecover: Ecrecover = loaded.binding ? nativeEcrecover(loaded.binding) : jsEcrecover;
