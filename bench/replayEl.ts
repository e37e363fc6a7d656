import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionPayloadV3 } from '../src/types/engine.js';

/** A recorded `engine_getPayloadV4` answer (see `bench/fixtures/record.ts`). */
interface RecordedPayload {
  executionPayload: ExecutionPayloadV3;
  executionRequests: string[];
}

/**
 * An execution client that replays a recorded real payload instead of executing anything, so the
 * pipeline bench measures Baton, not the EL: every block it "builds" carries the recorded
 * transactions (the bytes Baton encodes, hashes, stores and publishes), renumbered and relinked
 * onto the head with a fresh hash. It answers VALID to everything and keeps just enough chain
 * (number → hash, timestamp) for the Builder's hash-gated resume. Auth is not checked.
 */
export class ReplayEl {
  private readonly template: RecordedPayload;
  private readonly blocks = new Map<bigint, { hash: string; parentHash: string; timestamp: bigint }>();
  private head = 0n;
  private readonly server: Server;
  /** Time spent answering since `resetTimer()`: the EL's share of a run (near zero: it executes nothing). */
  busyMs = 0;

  constructor(fixturePath: string) {
    this.template = JSON.parse(readFileSync(fixturePath, 'utf8')) as RecordedPayload;
    const genesisTime = BigInt(Math.floor(Date.now() / 1000)) - 1_000_000n;
    this.blocks.set(0n, { hash: hashOf('genesis'), parentHash: `0x${'00'.repeat(32)}`, timestamp: genesisTime });
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const { id, method, params } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: number; method: string; params: unknown[] };
        res.setHeader('content-type', 'application/json');
        const started = performance.now();
        try {
          res.end(JSON.stringify({ jsonrpc: '2.0', id, result: this.call(method, params) }));
        } catch (err) {
          res.end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32601, message: (err as Error).message } }));
        }
        this.busyMs += performance.now() - started;
      });
    });
  }

  /** Transactions in every replayed block. */
  get txCount(): number {
    return this.template.executionPayload.transactions.length;
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

  /** One JSON-RPC method, as the HTTP server answers it (also callable in-process, e.g. for the genesis hash). */
  call(method: string, params: unknown[]): unknown {
    const valid = (hash: string | null) => ({ status: 'VALID', latestValidHash: hash, validationError: null });
    switch (method) {
      case 'engine_exchangeCapabilities':
        return ['engine_newPayloadV4', 'engine_forkchoiceUpdatedV3', 'engine_getPayloadV4'];
      case 'eth_chainId':
        return '0x7a69';
      case 'eth_getBlockByNumber': {
        const tag = params[0] as string;
        const n = tag === 'latest' ? this.head : BigInt(tag);
        const b = this.blocks.get(n);
        return b ? { number: `0x${n.toString(16)}`, hash: b.hash, parentHash: b.parentHash, timestamp: `0x${b.timestamp.toString(16)}` } : null;
      }
      case 'engine_forkchoiceUpdatedV3': {
        const headHash = (params[0] as { headBlockHash: string }).headBlockHash.toLowerCase();
        for (const [n, b] of this.blocks) if (b.hash === headHash) this.head = n;
        return { payloadStatus: valid(headHash), payloadId: params[1] ? `0x${this.head.toString(16).padStart(16, '0')}` : null };
      }
      case 'engine_getPayloadV4': {
        const parent = this.blocks.get(this.head)!;
        const number = this.head + 1n;
        const timestamp = parent.timestamp + 1n;
        const executionPayload = { ...this.template.executionPayload, blockNumber: `0x${number.toString(16)}`, parentHash: parent.hash, timestamp: `0x${timestamp.toString(16)}`, blockHash: hashOf(`block ${number} on ${parent.hash}`) };
        return { executionPayload, blockValue: '0x0', blobsBundle: { commitments: [], proofs: [], blobs: [] }, shouldOverrideBuilder: false, executionRequests: this.template.executionRequests };
      }
      case 'engine_newPayloadV4': {
        const p = params[0] as ExecutionPayloadV3;
        this.blocks.set(BigInt(p.blockNumber), { hash: p.blockHash.toLowerCase(), parentHash: p.parentHash.toLowerCase(), timestamp: BigInt(p.timestamp) });
        return valid(p.blockHash);
      }
      default:
        throw new Error(`the replay EL does not serve ${method}`);
    }
  }
}

function hashOf(text: string): string {
  return `0x${createHash('sha256').update(text).digest('hex')}`;
}
