import type { Logger } from 'pino';
import type { StoredBlock } from '../../types/block.js';
import type { IBlockStore } from '../postgres/interface.js';
import { toBlockJson } from './blockJson.js';
import { HttpError, HttpErrorCode } from './errors.js';
import type { BlocksApiOptions } from './options.js';
import { JSON_CONTENT_TYPE } from './reply.js';
import type { HttpServer } from './server.js';

/** The only store calls the API makes, so a read replica or a test fake can serve it. */
export type BlockSource = Pick<IBlockStore, 'head' | 'getByNumber' | 'getByHash' | 'range'>;

/** The API reads blocks only through `store`; `logger` records store failures behind a 503. */
export interface BlocksApiModules {
  store: BlockSource;
  logger: Logger;
}

/** `block_number` is a PostgreSQL BIGINT: a larger number cannot name a block, so it is a bad request. */
const INT8_MAX = 2n ** 63n - 1n;

function blockNumber(raw: string, what: string): bigint {
  if (!/^\d+$/.test(raw) || BigInt(raw) > INT8_MAX) {
    throw new HttpError(HttpErrorCode.BAD_REQUEST, `${what} must be an integer in [0, ${INT8_MAX}], got ${JSON.stringify(raw)}`);
  }
  return BigInt(raw);
}

/**
 * `after` is optional: without it the page starts at the first committed block (a member with
 * nothing synced). `limit` defaults to `defaultLimit` and is clamped to `maxLimit`; zero,
 * negative or non-integer values are refused.
 */
function rangeQuery(query: string, opts: BlocksApiOptions): { after: bigint; limit: number } {
  const params = new URLSearchParams(query);
  const after = params.get('after');
  const limit = params.get('limit');
  if (limit !== null && !/^\d+$/.test(limit)) throw new HttpError(HttpErrorCode.BAD_REQUEST, `limit must be a positive integer, got ${JSON.stringify(limit)}`);
  const n = limit === null ? opts.defaultLimit : Math.min(Number(limit), opts.maxLimit);
  if (n === 0) throw new HttpError(HttpErrorCode.BAD_REQUEST, 'limit must be a positive integer, got 0');
  return { after: after === null ? -1n : blockNumber(after, 'after'), limit: n };
}

/**
 * The block routes of the API server (DESIGN §6). They serve only what the store returns, i.e.
 * committed blocks (§4). A failing store call is a 503 the client retries; it is logged, and the
 * server keeps serving.
 */
export function registerBlockRoutes(server: HttpServer, opts: BlocksApiOptions, modules: BlocksApiModules): void {
  const { store, logger } = modules;
  const fromStore = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      logger.warn({ err }, 'Block store read failed');
      throw new HttpError(HttpErrorCode.STORE_UNAVAILABLE, 'block store unavailable, retry later');
    }
  };

  server.get('/blocks/latest', async (reply) => {
    const head = await fromStore(() => store.head());
    const block = head && (await fromStore(() => store.getByNumber(head.number)));
    if (!block) throw new HttpError(HttpErrorCode.NOT_FOUND, 'no block committed yet');
    reply.json(200, toBlockJson(block));
  });

  server.get('/blocks/:id', async (reply, req) => {
    const id = req.getParameter(0);
    let lookup: () => Promise<StoredBlock | null>;
    if (/^0x[0-9a-fA-F]{64}$/.test(id)) {
      lookup = () => store.getByHash(id);
    } else if (/^\d+$/.test(id)) {
      const number = blockNumber(id, 'block number');
      lookup = () => store.getByNumber(number);
    } else {
      throw new HttpError(HttpErrorCode.BAD_REQUEST, `block id must be a decimal number or a 0x-prefixed 32-byte hash, got ${JSON.stringify(id)}`);
    }
    const block = await fromStore(lookup);
    if (!block) throw new HttpError(HttpErrorCode.NOT_FOUND, `block ${id} not found`);
    reply.json(200, toBlockJson(block));
  });

  server.get('/blocks', async (reply, req) => {
    // uWS returns undefined, not "", when the URL has no query (its typings say string).
    const { after, limit } = rangeQuery(req.getQuery() ?? '', opts);
    const page = await fromStore(() => store.range(after, limit));
    const parts: string[] = [];
    let bytes = 2;
    for (const block of page) {
      const json = JSON.stringify(toBlockJson(block));
      if (parts.length > 0 && bytes + json.length + 1 > opts.maxPageBytes) break;
      parts.push(json);
      bytes += json.length + 1;
    }
    reply.send(200, JSON_CONTENT_TYPE, `[${parts.join(',')}]`);
  });
}
