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

/** A JSON-RPC reply as the server sent it: the HTTP status and the parsed body, error replies included. */
export interface RpcReply {
  status: number;
  body: RpcBody;
}

/** The body of a JSON-RPC reply (`any` results: tests assert on their fields). */
export interface RpcBody {
  jsonrpc?: '2.0';
  id?: number | null;
  result?: any;
  error?: { code: number; message: string; data?: any };
}

/** Options of one JSON-RPC request. */
export interface RpcOptions {
  /** Sent as `authorization: Bearer …` (a node's admin methods need it); none when absent. */
  token?: string;
  /** Abort the request after this long; none when absent (the test's own timeout applies). */
  timeoutMs?: number;
}

/**
 * One JSON-RPC request to `target`: a URL (an EL's RPC port) or a node, whose `apiUrl` + `/rpc`
 * is used. Never throws on an error reply, so a test can assert on its status and code.
 */
export async function rpcRequest(target: string | { apiUrl: string }, method: string, params: unknown = [], opts: RpcOptions = {}): Promise<RpcReply> {
  const url = typeof target === 'string' ? target : `${target.apiUrl}/rpc`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: opts.timeoutMs === undefined ? undefined : AbortSignal.timeout(opts.timeoutMs),
  });
  return { status: res.status, body: (await res.json()) as RpcBody };
}

/** `rpcRequest`'s body alone: what most tests assert on. */
export async function rpc(target: string | { apiUrl: string }, method: string, params: unknown = [], opts: RpcOptions = {}): Promise<RpcBody> {
  return (await rpcRequest(target, method, params, opts)).body;
}

/** A plain JSON-RPC call (to an EL's RPC port or a node's `/rpc`): the result, or a throw on an error reply. */
export async function jsonRpc<T>(target: string | { apiUrl: string }, method: string, params: unknown[], timeoutMs = 5_000): Promise<T> {
  const body = await rpc(target, method, params, { timeoutMs });
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

/** `eth_getBlockByNumber(n).hash` on an EL, or null if it has no such block. */
export async function elBlockHash(rpcUrl: string, number: bigint): Promise<string | null> {
  const block = await jsonRpc<{ hash: string } | null>(rpcUrl, 'eth_getBlockByNumber', [`0x${number.toString(16)}`, false]);
  return block?.hash.toLowerCase() ?? null;
}

/** Deletes every key under a test's prefix, so the shared Redis holds nothing a test left behind. */
export async function deleteRedisPrefix(
  redis: { keys(pattern: string): Promise<string[]>; del(...keys: string[]): Promise<number> },
  prefix: string,
): Promise<void> {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
}
