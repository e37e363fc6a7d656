import { timingSafeEqual } from 'node:crypto';
import { CodedError } from '../../runtime/errors.js';
import { parseJsonBody, readTextBody } from './body.js';
import { HttpError } from './errors.js';
import { JSON_CONTENT_TYPE } from './reply.js';
import type { HttpServer } from './server.js';

/** JSON-RPC 2.0 error codes: the spec's, then Baton's in the implementation-defined range. */
export const JsonRpcErrorCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** The method ran and refused: a rejected transaction, a refused leadership transfer. The message says why. */
  REFUSED: -32000,
  /** An admin method without the right `Authorization: Bearer <--admin-token>`. */
  UNAUTHORIZED: -32001,
  /** Admin methods are off because the node has no `--admin-token`. */
  ADMIN_DISABLED: -32002,
  /** The upstream this method is answered by (the node's EL, or the leader) did not answer. */
  UPSTREAM_UNAVAILABLE: -32003,
} as const;

/** A transaction hash as JSON-RPC spells it: 0x and 32 bytes of hex. */
export const TX_HASH = /^0x[0-9a-fA-F]{64}$/;

/** A JSON-RPC QUANTITY: 0x-prefixed hex without leading zeros. */
export function quantity(n: bigint): string {
  return `0x${n.toString(16)}`;
}

/**
 * A JSON-RPC error a method throws on purpose; the router answers it as `{error: {code, message,
 * data}}`. Anything else a method throws is a bug: logged, and answered as INTERNAL_ERROR.
 */
export class JsonRpcError extends CodedError<string> {
  constructor(
    readonly rpcCode: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(`JSONRPC_${rpcCode}`, message);
  }
}

/** Header that marks a request one Baton node forwarded to another: the receiver never forwards it again. */
export const FORWARDED_HEADER = 'x-baton-forwarded';

/** What a method may know about the HTTP request it runs in. */
export interface JsonRpcContext {
  /** The request came from another Baton node (`x-baton-forwarded`): a method must not forward it again. */
  forwarded: boolean;
}

export interface JsonRpcMethod {
  /** Admin methods need `Authorization: Bearer <--admin-token>` and are off without a token. */
  admin?: boolean;
  /** Validates its own params (INVALID_PARAMS on bad ones) and returns the JSON result. */
  handler(params: unknown, context: JsonRpcContext): unknown;
}

/**
 * Where requests for methods this router does not implement go (the node's EL, for the Ethereum
 * reads). A request, or a whole batch, made only of such methods is passed on as the bytes the
 * client sent, and the upstream's answer goes back as it came: one hop, no re-encoding.
 */
export interface JsonRpcForwarder {
  /** Whether `method` may be sent upstream; the others are METHOD_NOT_FOUND with `refusal(method)`. */
  allows(method: string): boolean;
  /** The METHOD_NOT_FOUND message for a method that is neither local nor allowed. */
  refusal(method: string): string;
  /** Sends a JSON-RPC body upstream; resolves with the upstream's JSON text (empty for notifications only). */
  send(body: string): Promise<string>;
}

export interface JsonRpcOptions {
  path: string;
  /** The admin bearer token; admin methods answer ADMIN_DISABLED when it is unset. */
  adminToken?: string;
  /** Largest request body read; a raw 1,400-transaction batch fits with room to spare. */
  maxBodyBytes?: number;
  /** Requests in one batch: a bound on the work one POST can cause. */
  maxBatch?: number;
  /** Methods that are not in the method table are forwarded here when it allows them. */
  forward?: JsonRpcForwarder;
}

const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;
const DEFAULT_MAX_BATCH = 1_000;

/** A request's id: a response carries it back, null when the request could not be read. */
export type JsonRpcId = string | number | null;
interface Response {
  jsonrpc: '2.0';
  id: JsonRpcId;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/**
 * Mounts a JSON-RPC 2.0 endpoint (single requests and batches) on `server`. Each method checks its
 * own params; the router checks the envelope and, for admin methods, the bearer token (compared in
 * constant time). A request without the right token is refused without running the method; the
 * HTTP status is 401 when every request in the POST was refused that way, so proxies and `curl -f`
 * see it too. Malformed JSON gets PARSE_ERROR, never a dropped connection.
 */
export function registerJsonRpc(
  server: HttpServer,
  opts: JsonRpcOptions,
  methods: Record<string, JsonRpcMethod>,
  onBug: (err: unknown, method: string) => void,
): void {
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxBatch = opts.maxBatch ?? DEFAULT_MAX_BATCH;
  const expected = opts.adminToken ? Buffer.from(opts.adminToken) : null;

  const forward = opts.forward;
  /** A well-formed request for a method only the upstream serves: the whole body may pass through. */
  const passesThrough = (request: unknown): boolean => {
    if (!forward || typeof request !== 'object' || request === null || Array.isArray(request)) return false;
    const { jsonrpc, method } = request as Record<string, unknown>;
    return jsonrpc === '2.0' && typeof method === 'string' && !Object.hasOwn(methods, method) && forward.allows(method);
  };

  server.post(opts.path, async (reply, req) => {
    const authorization = req.getHeader('authorization');
    const context: JsonRpcContext = { forwarded: req.getHeader(FORWARDED_HEADER) !== '' };
    const text = await readTextBody(reply, maxBodyBytes);
    let body: unknown;
    try {
      body = parseJsonBody(text);
    } catch (err) {
      if (err instanceof HttpError && err.code === 'INVALID_JSON') {
        reply.json(200, failure(null, JsonRpcErrorCode.PARSE_ERROR, err.message));
        return;
      }
      throw err;
    }
    const authorized = expected !== null && bearerMatches(authorization, expected);
    const call = (request: unknown) => handleOne(request, { methods, forward, context, adminEnabled: expected !== null, authorized, onBug });
    if (Array.isArray(body)) {
      if (body.length === 0) return reply.json(200, failure(null, JsonRpcErrorCode.INVALID_REQUEST, 'empty batch'));
      if (body.length > maxBatch) return reply.json(200, failure(null, JsonRpcErrorCode.INVALID_REQUEST, `batch of ${body.length} exceeds ${maxBatch}`));
    }
    if (forward && (Array.isArray(body) ? body.every(passesThrough) : passesThrough(body))) {
      let answer: string;
      try {
        answer = await forward.send(text);
      } catch (err) {
        if (!(err instanceof JsonRpcError)) throw err;
        return reply.json(200, failure(null, err.rpcCode, err.message, err.data));
      }
      if (answer.trim() === '') return reply.send(204, 'text/plain', '');
      return reply.send(200, JSON_CONTENT_TYPE, answer);
    }
    if (Array.isArray(body)) {
      const responses = await Promise.all(body.map(call));
      const answered = responses.filter((r): r is Response => r !== null);
      if (answered.length === 0) return reply.send(204, 'text/plain', '');
      return reply.json(allUnauthorized(answered) ? 401 : 200, answered);
    }
    const response = await call(body);
    if (response === null) return reply.send(204, 'text/plain', '');
    reply.json(allUnauthorized([response]) ? 401 : 200, response);
  });
}

interface Dispatch {
  methods: Record<string, JsonRpcMethod>;
  forward: JsonRpcForwarder | undefined;
  context: JsonRpcContext;
  adminEnabled: boolean;
  authorized: boolean;
  onBug: (err: unknown, method: string) => void;
}

/** One request; null for a notification (no `id`), which gets no response. */
async function handleOne(request: unknown, d: Dispatch): Promise<Response | null> {
  const { methods, forward, adminEnabled, authorized, onBug } = d;
  if (typeof request !== 'object' || request === null || Array.isArray(request))
    return failure(null, JsonRpcErrorCode.INVALID_REQUEST, 'a request must be a JSON object');
  const { jsonrpc, method, params, id: rawId } = request as Record<string, unknown>;
  const isNotification = !('id' in request);
  const id: JsonRpcId = typeof rawId === 'string' || typeof rawId === 'number' ? rawId : null;
  if (jsonrpc !== '2.0') return failure(id, JsonRpcErrorCode.INVALID_REQUEST, 'jsonrpc must be "2.0"');
  if (typeof method !== 'string') return failure(id, JsonRpcErrorCode.INVALID_REQUEST, 'method must be a string');
  if (!isNotification && !(typeof rawId === 'string' || typeof rawId === 'number' || rawId === null))
    return failure(null, JsonRpcErrorCode.INVALID_REQUEST, 'id must be a string, a number or null');
  if (params !== undefined && (typeof params !== 'object' || params === null))
    return failure(id, JsonRpcErrorCode.INVALID_PARAMS, 'params must be an array or an object');
  const entry = Object.hasOwn(methods, method) ? methods[method] : undefined;
  if (!entry && forward?.allows(method)) {
    const response = await forwardOne(forward, { jsonrpc, method, params, id }, id);
    return isNotification ? null : response;
  }
  if (!entry) return failure(id, JsonRpcErrorCode.METHOD_NOT_FOUND, forward?.refusal(method) ?? `the method ${method} does not exist`);
  if (entry.admin && !adminEnabled)
    return failure(id, JsonRpcErrorCode.ADMIN_DISABLED, `${method} is an admin method; start the node with --admin-token to enable admin methods`);
  if (entry.admin && !authorized) return failure(id, JsonRpcErrorCode.UNAUTHORIZED, `${method} needs "Authorization: Bearer <admin token>"`);
  let response: Response;
  try {
    response = { jsonrpc: '2.0', id, result: (await entry.handler(params ?? [], d.context)) ?? null };
  } catch (err) {
    if (err instanceof JsonRpcError) response = failure(id, err.rpcCode, err.message, err.data);
    else {
      onBug(err, method);
      response = failure(id, JsonRpcErrorCode.INTERNAL_ERROR, 'internal error');
    }
  }
  return isNotification ? null : response;
}

/** One request of a mixed batch sent upstream on its own; the answer keeps the caller's id. */
async function forwardOne(forward: JsonRpcForwarder, request: Record<string, unknown>, id: JsonRpcId): Promise<Response> {
  try {
    const answer = JSON.parse(await forward.send(JSON.stringify(request))) as Response;
    return { ...answer, jsonrpc: '2.0', id };
  } catch (err) {
    if (err instanceof JsonRpcError) return failure(id, err.rpcCode, err.message, err.data);
    return failure(id, JsonRpcErrorCode.REFUSED, `the upstream answered with something that is not JSON-RPC: ${(err as Error).message}`);
  }
}

/** A JSON-RPC error response; `data` only when there is some. */
export function failure(id: JsonRpcId, code: number, message: string, data?: unknown): Response {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}

function allUnauthorized(responses: Response[]): boolean {
  return responses.every((r) => r.error?.code === JsonRpcErrorCode.UNAUTHORIZED);
}

function bearerMatches(header: string, expected: Buffer): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!match) return false;
  const given = Buffer.from(match[1]!);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Reads named params from `[obj]` or `obj` (both styles are common among clients) or positional
 * ones from an array, for methods that take a few arguments.
 */
export function positionalParams(params: unknown, names: readonly string[]): unknown[] {
  if (Array.isArray(params)) {
    if (params.length === 1 && names.length > 1 && typeof params[0] === 'object' && params[0] !== null && !Array.isArray(params[0])) {
      const obj = params[0] as Record<string, unknown>;
      return names.map((n) => obj[n]);
    }
    return params;
  }
  const obj = params as Record<string, unknown>;
  return names.map((n) => obj[n]);
}
