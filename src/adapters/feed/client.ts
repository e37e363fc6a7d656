import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { decode } from '../../runtime/codec.js';
import type { ReceivedBlock } from '../../types/block.js';

export interface FeedClientOptions {
  /** `ws://host:port/feed` of a node's API server. */
  url: string;
  /** Last block the consumer already has (−1 for none: start at the first committed block); every (re)subscribe asks for cursor + 1. */
  cursor: bigint;
  /** First reconnect delay; doubles per failed attempt up to `maxBackoffMs`, reset once connected. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** Something the consumer should know about; the client has already recovered (or keeps trying). */
export interface FeedClientProblem {
  /** GAP: a block beyond cursor + 1 arrived (the client reconnects to fill it). SERVER_ERROR: an error frame. DECODE: an unreadable frame. CONNECT: a failed connection. */
  code: 'GAP' | 'SERVER_ERROR' | 'DECODE' | 'CONNECT';
  message: string;
}

export interface FeedClientEvents {
  block: [ReceivedBlock];
  problem: [FeedClientProblem];
  /** The connection closed (code 4008 = we were too slow); a reconnect follows unless stopped. */
  disconnect: [code: number, reason: string];
}

interface MsgpackBlockFrame {
  type: string;
  number: bigint | number;
  hash: string;
  parentHash: string;
  timestamp: bigint | number;
  txCount: number;
  epoch: bigint | number;
  payload: Uint8Array;
  requests: Uint8Array;
}

/**
 * The feed consumer a member's Syncer uses: msgpack with payloads, blocks emitted exactly once
 * and in order. It owns the cursor, so any disconnect — a slow-consumer close (4008), a server
 * restart, a network failure — ends in a reconnect with backoff that resubscribes from cursor + 1.
 * Duplicates are dropped defensively; a gap is reported and healed by resubscribing.
 */
export class FeedClient extends EventEmitter<FeedClientEvents> {
  private socket: WebSocket | null = null;
  private stopped = true;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private current: bigint;
  private paused = false;

  constructor(private readonly opts: FeedClientOptions) {
    super();
    this.current = opts.cursor;
  }

  /** The last block emitted. */
  get cursor(): bigint {
    return this.current;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Closes the connection for good; resolves once it is closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.close(1000, 'client stopped');
    });
  }

  /**
   * Stops reading frames (TCP backpressure) while the consumer is behind, e.g. the Executor's
   * queue is full. A pause long enough to exceed the server's `maxBackpressure` ends in a 4008
   * close and a transparent resubscribe, so nothing is lost either way.
   */
  pause(): void {
    this.paused = true;
    this.socket?.pause();
  }

  resume(): void {
    this.paused = false;
    this.socket?.resume();
  }

  private connect(): void {
    const socket = new WebSocket(this.opts.url);
    this.socket = socket;
    socket.on('open', () => {
      this.attempt = 0;
      // ws ignores pause() while connecting.
      if (this.paused) socket.pause();
      const from = this.current + 1n;
      const safe = from <= BigInt(Number.MAX_SAFE_INTEGER);
      socket.send(JSON.stringify({ op: 'subscribe', from: safe ? Number(from) : from.toString(), encoding: 'msgpack', payload: true }));
    });
    socket.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(socket, data, isBinary));
    socket.on('error', (err) => this.emit('problem', { code: 'CONNECT', message: err.message }));
    socket.on('close', (code, reason) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.emit('disconnect', code, reason.toString());
      if (!this.stopped) this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    const min = this.opts.minBackoffMs ?? 100;
    const delay = Math.min(this.opts.maxBackoffMs ?? 5_000, min * 2 ** this.attempt++);
    // Jitter, so subscribers dropped together do not reconnect together.
    this.timer = setTimeout(() => this.connect(), delay / 2 + Math.random() * (delay / 2));
  }

  private onFrame(socket: WebSocket, data: Buffer, isBinary: boolean): void {
    if (this.socket !== socket) return;
    if (!isBinary) {
      this.onText(data.toString('utf8'));
      return;
    }
    let frame: MsgpackBlockFrame;
    try {
      frame = decode<MsgpackBlockFrame>(data);
    } catch (err) {
      this.emit('problem', { code: 'DECODE', message: `unreadable frame: ${(err as Error).message}` });
      return;
    }
    const number = BigInt(frame.number);
    if (number <= this.current) return;
    // With no cursor yet (−1) the first block is wherever the committed chain starts (block 1 on a new chain).
    if (this.current >= 0n && number > this.current + 1n) {
      this.emit('problem', { code: 'GAP', message: `expected block ${this.current + 1n}, got ${number}; resubscribing` });
      socket.terminate();
      return;
    }
    this.current = number;
    this.emit('block', {
      number,
      hash: frame.hash,
      parentHash: frame.parentHash,
      timestamp: BigInt(frame.timestamp),
      txCount: frame.txCount,
      epoch: BigInt(frame.epoch),
      payloadData: frame.payload,
      requestsData: frame.requests,
    });
  }

  private onText(text: string): void {
    try {
      const msg = JSON.parse(text) as { type?: string; code?: string; message?: string };
      if (msg.type === 'error') this.emit('problem', { code: 'SERVER_ERROR', message: `${msg.code}: ${msg.message}` });
    } catch {
      this.emit('problem', { code: 'DECODE', message: 'unreadable text frame' });
    }
  }
}
