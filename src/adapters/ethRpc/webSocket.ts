import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { EncodedBlock } from '../../types/block.js';
import type { BlockSink } from '../../types/sink.js';
import { failure, JsonRpcErrorCode, type JsonRpcId } from '../http/jsonRpc.js';
import type { JsonRpcUpstream } from './upstream.js';

export interface EthWebSocketOptions {
  /** The same path as `POST /rpc`: one endpoint, HTTP or WebSocket, as Geth's clients expect. */
  path: string;
  /** Open connections; past it an upgrade gets HTTP 503. */
  maxConnections: number;
  /** Subscriptions one connection may hold; past it `eth_subscribe` is refused. */
  maxSubscriptionsPerConnection: number;
  /** Bytes queued for a slow client before it is disconnected (notifications are never dropped silently). */
  maxBackpressureBytes: number;
  /** Largest message a client may send. */
  maxMessageBytes: number;
}

export const defaultEthWebSocketOptions: EthWebSocketOptions = {
  path: '/rpc',
  maxConnections: 10_000,
  maxSubscriptionsPerConnection: 100,
  maxBackpressureBytes: 4 * 1024 * 1024,
  maxMessageBytes: 5 * 1024 * 1024,
};

export interface EthWebSocketModules {
  /**
   * This node's own `POST /rpc` (loopback): every request other than a subscription is answered by
   * the same router, allow-list and methods as over HTTP, so the two transports never disagree.
   */
  rpc: JsonRpcUpstream;
  /** This node's EL, for the header of each committed block (Geth's `newHeads` shape, from the EL itself). */
  el: JsonRpcUpstream | null;
  logger: Logger;
}

type Topic = 'newHeads' | 'newPendingTransactions';
const TOPICS: ReadonlySet<string> = new Set<Topic>(['newHeads', 'newPendingTransactions']);

interface Connection {
  /** subscription id → topic */
  subscriptions: Map<string, Topic>;
  closed: boolean;
}
type Ws = WebSocket<Connection>;

/** Fields of `eth_getBlockByHash(…, false)` that are the block's, not its header's. */
const NOT_HEADER_FIELDS = ['transactions', 'uncles', 'withdrawals', 'size', 'totalDifficulty'];

/**
 * WebSocket JSON-RPC on the API address, with `eth_subscribe` / `eth_unsubscribe` (DESIGN §6):
 * `newHeads` sends the header of each block this node committed (leader) or executed from the
 * committed chain (member, standby), once and in order; `newPendingTransactions` the hash of each
 * transaction this node's `eth_sendRawTransaction` accepted. Bounded per connection; a client that
 * does not read is closed.
 */
export class EthWebSocketServer {
  private readonly connections = new Set<Ws>();
  /** Committed blocks in order: one header fetch at a time, so notifications never overtake each other. */
  private headsChain: Promise<void> = Promise.resolve();
  private lastHead: bigint | null = null;
  private closed = false;

  constructor(
    app: TemplatedApp,
    private readonly opts: EthWebSocketOptions,
    private readonly modules: EthWebSocketModules,
  ) {
    app.ws<Connection>(opts.path, {
      maxPayloadLength: opts.maxMessageBytes,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      maxBackpressure: 0,
      upgrade: (res, req, context) => {
        if (this.closed || this.connections.size >= opts.maxConnections) {
          res.cork(() => res.writeStatus('503 Service Unavailable').end(`at most ${opts.maxConnections} WebSocket JSON-RPC connections`));
          return;
        }
        res.upgrade<Connection>(
          { subscriptions: new Map(), closed: false },
          req.getHeader('sec-websocket-key'),
          req.getHeader('sec-websocket-protocol'),
          req.getHeader('sec-websocket-extensions'),
          context,
        );
      },
      open: (ws) => {
        this.connections.add(ws);
      },
      message: (ws, message) => {
        void this.onMessage(ws, ws.getUserData(), Buffer.from(message).toString('utf8'));
      },
      close: (ws) => {
        ws.getUserData().closed = true;
        this.connections.delete(ws);
      },
    });
  }

  /** The sink the Publisher (leader) and Executor (followers) hand committed blocks to, after the commit. */
  sink(): BlockSink {
    return { name: 'ethSubscriptions', publish: async (block) => this.committed(block) };
  }

  /** A transaction this node's `eth_sendRawTransaction` accepted: its hash goes to `newPendingTransactions` subscribers. */
  pendingTransaction(hash: string): void {
    this.notify('newPendingTransactions', () => hash);
  }

  /** Closes every connection with 1001 (going away). */
  close(): void {
    this.closed = true;
    for (const ws of this.connections) {
      ws.getUserData().closed = true;
      ws.end(1001, 'node stopping');
    }
    this.connections.clear();
  }

  private committed(block: EncodedBlock): void {
    const { number, hash } = block.summary;
    if (this.lastHead !== null && number <= this.lastHead) return;
    this.lastHead = number;
    if (!this.hasSubscribers('newHeads') || !this.modules.el) return;
    const el = this.modules.el;
    this.headsChain = this.headsChain.then(async () => {
      try {
        const block = (await el.call('eth_getBlockByHash', [hash, false])) as Record<string, unknown> | null;
        if (!block) throw new Error(`the EL does not have committed block ${number} (${hash})`);
        const header = Object.fromEntries(Object.entries(block).filter(([k]) => !NOT_HEADER_FIELDS.includes(k)));
        this.notify('newHeads', () => header);
      } catch (err) {
        this.modules.logger.warn({ err, number }, 'newHeads: reading the header from the EL failed; subscribers miss this block');
      }
    });
  }

  private hasSubscribers(topic: Topic): boolean {
    for (const ws of this.connections) for (const t of ws.getUserData().subscriptions.values()) if (t === topic) return true;
    return false;
  }

  /** Sends `result()` (computed once) to every subscription on `topic`; a connection over its send bound is closed. */
  private notify(topic: Topic, result: () => unknown): void {
    let value: unknown;
    let computed = false;
    for (const ws of this.connections) {
      const state = ws.getUserData();
      for (const [subscription, t] of state.subscriptions) {
        if (t !== topic || state.closed) continue;
        if (!computed) {
          value = result();
          computed = true;
        }
        this.send(ws, state, { jsonrpc: '2.0', method: 'eth_subscription', params: { subscription, result: value } });
      }
    }
  }

  /** `state` is the socket's own, read while it was open: a closed uWS socket must not be touched at all. */
  private send(ws: Ws, state: Connection, message: unknown): void {
    if (state.closed) return;
    ws.send(JSON.stringify(message), false);
    if (ws.getBufferedAmount() > this.opts.maxBackpressureBytes) {
      state.closed = true;
      ws.end(1008, 'too slow: notifications backed up');
    }
  }

  private async onMessage(ws: Ws, state: Connection, text: string): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      this.send(ws, state, failure(null, JsonRpcErrorCode.PARSE_ERROR, `not JSON: ${(err as Error).message}`));
      return;
    }
    const isSubscriptionCall = (r: unknown) => {
      const method = (r as { method?: unknown } | null)?.method;
      return method === 'eth_subscribe' || method === 'eth_unsubscribe';
    };
    const requests = Array.isArray(body) ? body : [body];
    if (!requests.some(isSubscriptionCall)) {
      // Everything else: the HTTP router's answer, as it gave it.
      try {
        const answer = await this.modules.rpc.send(text);
        if (answer.trim() !== '' && !state.closed) ws.send(answer, false);
      } catch (err) {
        this.send(ws, state, failure(null, JsonRpcErrorCode.INTERNAL_ERROR, (err as Error).message));
      }
      return;
    }
    const answers = await Promise.all(
      requests.map((r) => (isSubscriptionCall(r) ? this.subscriptionCall(state, r as Record<string, unknown>) : this.forwardOne(r))),
    );
    this.send(ws, state, Array.isArray(body) ? answers : answers[0]);
  }

  private async forwardOne(request: unknown): Promise<unknown> {
    try {
      return JSON.parse(await this.modules.rpc.send(JSON.stringify(request)));
    } catch (err) {
      return failure((request as { id?: JsonRpcId })?.id ?? null, JsonRpcErrorCode.INTERNAL_ERROR, (err as Error).message);
    }
  }

  private subscriptionCall(state: Connection, request: Record<string, unknown>): unknown {
    const id: JsonRpcId = typeof request.id === 'string' || typeof request.id === 'number' ? request.id : null;
    const params = Array.isArray(request.params) ? request.params : [];
    const { subscriptions } = state;
    if (request.method === 'eth_unsubscribe') {
      const [subscription] = params;
      if (typeof subscription !== 'string') return failure(id, JsonRpcErrorCode.INVALID_PARAMS, 'invalid params: expected [subscriptionId]');
      return { jsonrpc: '2.0', id, result: subscriptions.delete(subscription) };
    }
    const [topic] = params;
    if (typeof topic !== 'string' || !TOPICS.has(topic))
      return failure(id, JsonRpcErrorCode.INVALID_PARAMS, `invalid params: subscriptions here are ${[...TOPICS].join(' and ')}, got ${JSON.stringify(topic)}`);
    if (subscriptions.size >= this.opts.maxSubscriptionsPerConnection)
      return failure(id, JsonRpcErrorCode.REFUSED, `at most ${this.opts.maxSubscriptionsPerConnection} subscriptions per connection`);
    const subscription = `0x${randomBytes(16).toString('hex')}`;
    subscriptions.set(subscription, topic as Topic);
    return { jsonrpc: '2.0', id, result: subscription };
  }
}
