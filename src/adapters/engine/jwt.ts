import { createSecretKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { SignJWT } from 'jose';
import { EngineError, EngineErrorCode } from './errors.js';

/** The CLI flags a secret can come from; errors name the flag so the operator knows what to fix. */
export type JwtSecretSource = '--jwt-secret' | '--jwt-secret-file';

/** The auth spec fixes the secret at 256 bits, hex encoded (execution-apis `authentication.md`). */
const SECRET_HEX = /^(?:0x)?([0-9a-f]{64})$/i;

/**
 * Parses a 32-byte hex secret, with or without `0x`, surrounding whitespace ignored (files
 * written by `openssl rand -hex 32` end with a newline). The secret never appears in the error.
 */
export function parseJwtSecret(text: string, source: JwtSecretSource, path?: string): Uint8Array {
  const match = SECRET_HEX.exec(text.trim());
  if (match?.[1] === undefined) {
    const where = path === undefined ? source : `${source} ${path}`;
    throw new EngineError(EngineErrorCode.JWT_SECRET_INVALID, `${where}: JWT secret must be 32 bytes of hex (64 hex characters, optional 0x prefix)`, {
      source,
      ...(path === undefined ? {} : { path }),
    });
  }
  return Uint8Array.from(Buffer.from(match[1], 'hex'));
}

/** Reads and parses a secret file as given by `--jwt-secret-file`. */
export async function readJwtSecretFile(path: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new EngineError(EngineErrorCode.JWT_SECRET_INVALID, `--jwt-secret-file ${path}: cannot read JWT secret: ${(e as Error).message}`, {
      source: '--jwt-secret-file',
      path,
    });
  }
  return parseJwtSecret(text, '--jwt-secret-file', path);
}

/**
 * Signs one HS256 token per request. The EL rejects tokens whose `iat` is more than 60 s away from
 * its clock, so a token is never reused; the key object is built once since it is the costly part.
 */
export class JwtSigner {
  private readonly key: KeyObject;

  constructor(secret: Uint8Array) {
    this.key = createSecretKey(secret);
  }

  async token(nowMs = Date.now()): Promise<string> {
    const jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt(Math.floor(nowMs / 1000));
    return jwt.sign(this.key);
  }
}
