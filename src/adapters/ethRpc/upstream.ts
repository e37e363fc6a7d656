import { JsonRpcError, JsonRpcErrorCode } from '../http/jsonRpc.js';

/**
 * Long enough for an `eth_call` or `eth_getLogs` over a wide range on a busy EL; a client's own
 * timeout is usually shorter, and a hung EL still frees the request in bounded time.
 */
const UPSTREAM_TIMEOUT_MS = 30_000;

/**
 * A plain JSON-RPC endpoint over HTTP: the node's own EL, or another node's `/rpc`. Bodies pass
 * through as text (no re-encoding of what the caller sent or the upstream answered); Node's fetch
 * keeps connections alive, so a forwarded call costs one loopback round trip.
 */
export class JsonRpcUpstream {
  private nextId = 1;

  constructor(
    readonly url: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  /** Posts `body` (one request or a batch) and resolves with the upstream's JSON text; an unreachable upstream is UPSTREAM_UNAVAILABLE (-32003). */
  async send(body: string): Promise<string> {
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.headers },
        body,
        signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
      });
      const text = await res.text();
      // A JSON-RPC error may come with a 4xx/5xx status; anything else that is not JSON is no answer.
      if (!res.ok && !/^\s*[[{]/.test(text)) throw new Error(`HTTP ${res.status}`);
      return text;
    } catch (err) {
      throw new JsonRpcError(JsonRpcErrorCode.UPSTREAM_UNAVAILABLE, `${this.url} did not answer: ${(err as Error).message}`);
    }
  }

  /** One call; the upstream's JSON-RPC error is rethrown as it is (code, message, data), so the caller's client sees the EL's reason. */
  async call(method: string, params: unknown): Promise<unknown> {
    const text = await this.send(JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params }));
    let response: { result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } };
    try {
      response = JSON.parse(text);
    } catch {
      throw new JsonRpcError(JsonRpcErrorCode.REFUSED, `${this.url} answered ${method} with something that is not JSON: ${text.slice(0, 200)}`);
    }
    if (response.error) {
      const { code, message, data } = response.error;
      throw new JsonRpcError(typeof code === 'number' ? code : JsonRpcErrorCode.REFUSED, typeof message === 'string' ? message : 'upstream error', data);
    }
    return response.result ?? null;
  }
}
