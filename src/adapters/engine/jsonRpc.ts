import { EngineError, EngineErrorCode, engineCodeForRpcError } from './errors.js';
import type { JwtSigner } from './jwt.js';

/** How much of an unexpected body goes into an error message: enough to recognise an HTML page. */
const MAX_BODY_IN_ERROR = 300;

export interface JsonRpcCall {
  url: string;
  method: string;
  params: unknown[];
  timeoutMs: number;
  /** Signs a fresh token for this request when set. */
  signer: JwtSigner | null;
  /** Parent signals (client lifetime, caller); any of them aborts the request. */
  signals: (AbortSignal | undefined)[];
}

interface JsonRpcResponse {
  id?: unknown;
  result?: unknown;
  error?: { code?: unknown; message?: unknown; data?: unknown };
}

/**
 * One JSON-RPC request over HTTP with one AbortController that fires on the timeout or on any
 * parent signal, so a stopping actor never leaves a request behind and a hung EL costs at most the
 * method's timeout. Every failure becomes an `EngineError`; the result is returned unvalidated.
 */
export class JsonRpcHttp {
  private nextId = 1;

  async call({ url, method, params, timeoutMs, signer, signals }: JsonRpcCall): Promise<unknown> {
    const meta = { method, url };
    const parents = signals.filter((s): s is AbortSignal => s !== undefined);
    if (parents.some((s) => s.aborted)) {
      throw new EngineError(EngineErrorCode.ABORTED, `${method}: aborted before sending`, meta);
    }

    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onParentAbort = (): void => controller.abort();
    for (const s of parents) s.addEventListener('abort', onParentAbort, { once: true });

    const id = this.nextId++;
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (signer !== null) headers.authorization = `Bearer ${await signer.token()}`;
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
        signal: controller.signal,
      });
      const text = await res.text();
      return unwrap(res.status, text, id, meta);
    } catch (e) {
      if (e instanceof EngineError) throw e;
      if (controller.signal.aborted) {
        throw timedOut
          ? new EngineError(EngineErrorCode.TIMEOUT, `${method}: no answer within ${timeoutMs} ms`, { ...meta, timeoutMs })
          : new EngineError(EngineErrorCode.ABORTED, `${method}: aborted`, meta);
      }
      throw unreachable(e, meta);
    } finally {
      clearTimeout(timer);
      for (const s of parents) s.removeEventListener('abort', onParentAbort);
    }
  }
}

/** Turns an HTTP status and body into the result, or the most specific error it supports. */
function unwrap(status: number, text: string, id: number, meta: { method: string; url: string }): unknown {
  const { method } = meta;
  if (status === 401 || status === 403) {
    throw new EngineError(EngineErrorCode.UNAUTHORIZED, `${method}: HTTP ${status}, the EL rejected the JWT (wrong secret, or clocks more than 60 s apart)`, {
      ...meta,
      status,
    });
  }
  let body: JsonRpcResponse | null = null;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as JsonRpcResponse;
  } catch {
    // Not JSON: reported below as HTTP or PARSE depending on the status.
  }
  // Some ELs answer RPC errors with a 4xx/5xx status; the JSON-RPC error is the better report.
  if (body?.error !== undefined) {
    const rpcCode = typeof body.error.code === 'number' ? body.error.code : NaN;
    const message = typeof body.error.message === 'string' ? body.error.message : JSON.stringify(body.error);
    throw new EngineError(engineCodeForRpcError(rpcCode), `${method}: RPC error ${rpcCode}: ${message}`, {
      ...meta,
      rpcCode,
      status,
      ...(body.error.data === undefined ? {} : { data: body.error.data }),
    });
  }
  if (status < 200 || status > 299) {
    throw new EngineError(EngineErrorCode.HTTP, `${method}: HTTP ${status}: ${text.slice(0, MAX_BODY_IN_ERROR)}`, {
      ...meta,
      status,
    });
  }
  if (body === null || !('result' in body) || body.id !== id) {
    throw new EngineError(EngineErrorCode.PARSE, `${method}: not a JSON-RPC response: ${text.slice(0, MAX_BODY_IN_ERROR)}`, meta);
  }
  return body.result;
}

/** fetch() rejects with `TypeError: fetch failed` and the socket error as `cause`. */
function unreachable(e: unknown, meta: { method: string; url: string }): EngineError {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } }).cause;
  const detail = typeof cause?.code === 'string' ? cause.code : String(cause?.message ?? (e as Error).message);
  const err = new EngineError(EngineErrorCode.UNREACHABLE, `${meta.method}: ${meta.url} unreachable: ${detail}`, {
    ...meta,
    cause: detail,
  });
  err.cause = e;
  return err;
}
