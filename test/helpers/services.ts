import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** The shared services of this machine (CI starts them; trust auth for user postgres). */
export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const DEFAULT_REDIS_ADDR = '127.0.0.1:6379';

/**
 * The PostgreSQL and Redis tests use: the shared ones, which tests never stop or pause, unless
 * `npm test` (scripts/test.ts) found them down and points these variables at throwaway ones.
 */
export const POSTGRES_ADMIN_URL = process.env.BATON_TEST_POSTGRES_URL ?? DEFAULT_POSTGRES_URL;
export const REDIS_ADDR = process.env.BATON_TEST_REDIS_ADDR ?? DEFAULT_REDIS_ADDR;

/** `POSTGRES_ADMIN_URL` with another database name. */
export function databaseUrl(name: string): string {
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A fresh database on the shared PostgreSQL, dropped by `drop()`. */
export async function createDatabase(prefix = 'baton_test'): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(POSTGRES_ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    name,
    url: databaseUrl(name),
    async drop() {
      const sql = postgres(POSTGRES_ADMIN_URL, { max: 1, onnotice: () => {} });
      await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await sql.end();
    },
  };
}

/** A key prefix no other test uses, so tests share one Redis without seeing each other's keys. */
export function uniqueRedisPrefix(): string {
  return `baton-test-${randomBytes(4).toString('hex')}`;
}

/** A plain JSON-RPC call (to an EL's RPC port or a node's `/rpc`). */
export async function jsonRpc<T>(url: string, method: string, params: unknown[]): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), signal: AbortSignal.timeout(5_000) });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

/** `eth_getBlockByNumber(n).hash` on an EL, or null if it has no such block. */
export async function elBlockHash(rpcUrl: string, number: bigint): Promise<string | null> {
  const block = await jsonRpc<{ hash: string } | null>(rpcUrl, 'eth_getBlockByNumber', [`0x${number.toString(16)}`, false]);
  return block?.hash.toLowerCase() ?? null;
}

/** Deletes every key under a test's prefix, so the shared Redis holds nothing a test left behind. */
export async function deleteRedisPrefix(redis: { keys(pattern: string): Promise<string[]>; del(...keys: string[]): Promise<number> }, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
}
