import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionPayloadV3, ForkchoiceStateV1, PayloadAttributesV3 } from '../src/types/engine.js';
import { loadTemplate, MemoryEl } from '../test/helpers/memoryEl.js';

/**
 * An execution client that replays a recorded real payload instead of executing anything, so the
 * benches measure Baton, not the EL: the in-memory EL of the actor tests (`MemoryEl`, whose chain
 * logic this is) with the recorded payload as its template and cheap block hashes, served over
 * HTTP JSON-RPC. Every block it builds carries the recorded transactions (the bytes Baton encodes,
 * hashes, stores and publishes), renumbered and relinked onto the head. Auth is not checked.
 */
export class ReplayEl {
  readonly el: MemoryEl;
  private readonly server: Server;
  /** Time spent answering since `resetTimer()`: the EL's share of a run (near zero: it executes nothing). */
  busyMs = 0;

  constructor(fixturePath: string) {
    this.el = new MemoryEl({ template: loadTemplate(fixturePath), blockHash: 'cheap' });
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const { id, method, params } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: number; method: string; params: unknown[] };
        res.setHeader('content-type', 'application/json');
        const started = performance.now();
        try {
          res.end(JSON.stringify({ jsonrpc: '2.0', id, result: await this.call(method, params) }));
        } catch (err) {
          res.end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32601, message: (err as Error).message } }));
        }
        this.busyMs += performance.now() - started;
      });
    });
  }

  /** Transactions in every replayed block. */
  get txCount(): number {
    return this.el.templateTxCount;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  resetTimer(): void {
    this.busyMs = 0;
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }

  /** One JSON-RPC method: its params onto the port's call, its answer back into Engine API JSON. */
  private async call(method: string, params: unknown[]): Promise<unknown> {
    const el = this.el;
    switch (method) {
      case 'engine_exchangeCapabilities':
        return el.exchangeCapabilities();
      case 'eth_chainId':
        return hex(await el.chainId());
      case 'eth_getBlockByNumber': {
        const tag = params[0] as string;
        const b = await el.getBlockByNumber(tag.startsWith('0x') ? BigInt(tag) : (tag as 'latest'));
        return b && { number: hex(b.number), hash: b.hash, parentHash: b.parentHash, timestamp: hex(b.timestamp) };
      }
      case 'engine_forkchoiceUpdatedV3':
        return el.forkchoiceUpdatedV3(params[0] as ForkchoiceStateV1, params[1] as PayloadAttributesV3 | null);
      case 'engine_getPayloadV4':
        return el.getPayloadV4(params[0] as string);
      case 'engine_newPayloadV4':
        return el.newPayloadV4(params[0] as ExecutionPayloadV3, params[1] as string[], params[2] as string, params[3] as string[]);
      case 'eth_sendRawTransaction':
        return el.sendRawTransaction(params[0] as string);
      case 'eth_getTransactionReceipt':
        return el.getTransactionReceipt(params[0] as string);
      default:
        throw new Error(`the replay EL does not serve ${method}`);
    }
  }
}

function hex(n: bigint): string {
  return `0x${n.toString(16)}`;
}
