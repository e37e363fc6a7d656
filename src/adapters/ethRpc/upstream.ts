import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { JsonRpcError, JsonRpcErrorCode } from '../http/jsonRpc.js';

/**
 * Long enough for an `eth_call` or `eth_getLogs` over a wide range on a busy EL; a client's own
 * timeout is usually shorter, and a hung EL still frees the request in bounded time.
 */
const UPSTREAM_TIMEOUT_MS = 30_000;

/** Sockets kept open per upstream: one per concurrent request up to this, so a burst of clients does not queue behind each other. */
const MAX_SOCKETS = 256;

/**
 * A plain JSON-RPC endpoint over HTTP(S): the node's own EL, or another node's `/rpc`. Bodies pass
 * through as text (no re-encoding of what the caller sent or the upstream answered). Sent with
 * `node:http` on a keep-alive agent rather than fetch: a forwarded call costs one loopback round
 * trip, and fetch's per-request work (streams, Headers, a Response object) cost more CPU than
 * the EL's own `eth_blockNumber` — `bench/rpc.ts` measured the proxy at 2.1 × the direct p99.
 */
export class JsonRpcUpstream {
  private nextId = 1;
  private readonly target: URL;
  private readonly agent: HttpAgent;
  private readonly request: typeof httpRequest;

  constructor(
    readonly url: string,
    private readonly headers: Record<string, string> = {},
    private readonly timeoutMs = UPSTREAM_TIMEOUT_MS,
  ) {
    this.target = new URL(url);
    const secure = this.target.protocol === 'https:';
    this.agent = secure ? new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }) : new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS });
    this.request = secure ? httpsRequest : httpRequest;
  }

  /** Posts `body` (one request or a batch) and resolves with the upstream's JSON text; an unreachable upstream is UPSTREAM_UNAVAILABLE (-32003). */
  async send(body: string): Promise<string> {
    try {
      const { status, text } = await this.post(body);
      // A JSON-RPC error may come with a 4xx/5xx status; anything else that is not JSON is no answer.
      if ((status < 200 || status > 299) && !/^\s*[[{]/.test(text)) throw new Error(`HTTP ${status}`);
      return text;
    } catch (err) {
      throw new JsonRpcError(JsonRpcErrorCode.UPSTREAM_UNAVAILABLE, `${this.url} did not answer: ${(err as Error).message}`);
    }
  }

  /** One POST on a kept-alive socket; rejects on a socket error or when the upstream stays silent for `timeoutMs`. */
  private post(body: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = this.request(
        this.target,
        {
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...this.headers },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
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
