/**
 * A block-feed consumer on a raw WebSocket (the `ws` package), to show the protocol of
 * docs/feed-protocol.md without Baton's own `FeedClient`: it subscribes, prints each block, checks
 * that numbers are consecutive, and after any disconnect reconnects and resubscribes from its
 * cursor + 1, so no block is skipped or printed twice.
 *
 *   npx tsx examples/feedClient.ts [ws://127.0.0.1:8090/feed] [--from N] [--encoding json|msgpack] [--payload] [--count N]
 *
 *   --from N       start at block N (replay from the node's store, then live); default: live blocks only
 *   --encoding     json (text frames, the default) or msgpack (binary frames)
 *   --payload      ask for the payload too (its transaction count is printed)
 *   --count N      exit 0 after N blocks; default: run until Ctrl-C
 *
 * Output, one line per block: `block <number> <hash> parent <parentHash> txs <txCount> epoch <epoch>`.
 */
import { parseArgs } from 'node:util';
import { unpack } from 'msgpackr';
import WebSocket from 'ws';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    from: { type: 'string' },
    encoding: { type: 'string', default: 'json' },
    payload: { type: 'boolean', default: false },
    count: { type: 'string' },
  },
});
const url = positionals[0] ?? 'ws://127.0.0.1:8090/feed';
const encoding = values.encoding;
const count = values.count === undefined ? Infinity : Number(values.count);
const usage = (problem: string): never => {
  console.error(`feedClient: ${problem}`);
  process.exit(2);
};
if (encoding !== 'json' && encoding !== 'msgpack') usage('--encoding is json or msgpack');
if (values.from !== undefined && !/^\d+$/.test(values.from)) usage('--from is a block number');
if (!(count > 0)) usage('--count is a positive number');

/** The header fields every block frame carries, in either encoding. */
interface BlockFrame {
  type: 'block';
  /** A number in JSON (a decimal string past 2^53); a bigint from msgpack. */
  number: number | string | bigint;
  hash: string;
  parentHash: string;
  timestamp: number | string | bigint;
  txCount: number;
  epoch: number | string | bigint;
  /** JSON with `"payload": true`: the decoded envelope. */
  payload?: { executionPayload: { transactions: string[] } } | Uint8Array;
}

/** Last block printed: a reconnect asks for cursor + 1. Null until the first block arrives. */
let cursor: bigint | null = null;
/**
 * Before the first block, a (re)subscribe asks for `--from` (or live blocks). The first block may
 * be above it: no node sends the genesis block, and a node's database may start later.
 */
const firstFrom = values.from === undefined ? undefined : BigInt(values.from);
let printed = 0;
let stopping = false;
let backoffMs = 500;
let socket: WebSocket | null = null;

function connect(): void {
  const ws = new WebSocket(url);
  socket = ws;
  ws.on('open', () => {
    backoffMs = 500;
    const next = cursor === null ? firstFrom : cursor + 1n;
    // `from` as a number while exact, else as a decimal string (the server accepts both).
    const from = next === undefined ? undefined : next <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(next) : next.toString();
    ws.send(JSON.stringify({ op: 'subscribe', from, encoding, payload: values.payload }));
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (stopping) return; // frames already in flight while the close handshake runs
    // Error frames are always JSON text, whatever the encoding; block frames are binary in msgpack.
    const frame = (isBinary ? unpack(data) : JSON.parse(data.toString('utf8'))) as BlockFrame | { type: 'error'; code: string; message: string };
    if (frame.type === 'error') {
      console.error(`server error ${frame.code}: ${frame.message}`);
      return;
    }
    if (frame.type !== 'block') return;
    const number = BigInt(frame.number);
    if (cursor !== null && number <= cursor) return; // already printed (cannot happen with one subscription; cheap to check)
    if (cursor !== null && number !== cursor + 1n) {
      console.error(`gap: expected ${cursor + 1n}, got ${number}; reconnecting`);
      ws.terminate();
      return;
    }
    cursor = number;
    let line = `block ${number} ${frame.hash} parent ${frame.parentHash} txs ${frame.txCount} epoch ${frame.epoch}`;
    if (frame.payload instanceof Uint8Array) {
      // msgpack: the stored payload bytes, themselves msgpack of {executionPayload, versionedHashes, parentBeaconBlockRoot}.
      line += ` payload ${frame.payload.byteLength} B, ${(unpack(frame.payload) as { executionPayload: { transactions: string[] } }).executionPayload.transactions.length} tx`;
    } else if (frame.payload) {
      line += ` payload ${frame.payload.executionPayload.transactions.length} tx`;
    }
    console.log(line);
    if (++printed >= count) void stop(0);
  });
  ws.on('error', (err) => console.error(`connection error: ${err.message}`));
  ws.on('close', (code, reason) => {
    if (stopping) return;
    // 1001: the node is shutting down; 4008: we read too slowly; 1006: the connection dropped. All mean: resume.
    const resume = cursor !== null ? `block ${cursor + 1n}` : firstFrom !== undefined ? `block ${firstFrom}` : 'the live head';
    console.error(`closed ${code} ${reason.toString()}; reconnecting in ${backoffMs} ms from ${resume}`);
    setTimeout(connect, backoffMs);
    backoffMs = Math.min(backoffMs * 2, 10_000);
  });
}

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  const ws = socket;
  if (ws && ws.readyState !== WebSocket.CLOSED) {
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close(1000, 'done');
      setTimeout(resolve, 2_000).unref();
    });
  }
  process.exit(code);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
connect();
