import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** What `cut()` does to the link until `heal()`. */
export type CutMode =
  /** Cut open connections; accept new ones and then say nothing (a dropped route): the client's requests hang until it times out. */
  | 'blackhole'
  /** Cut open connections; reset new ones at once (a closed port): the client sees errors and retries. */
  | 'refuse'
  /**
   * Keep every connection (new ones too) but deliver nothing, in either direction, as a network
   * that stops delivering would; `heal()` delivers it all late, in order. So a write a cut-off
   * client sent before it lost something (a lock) reaches the server after another took it over.
   */
  | 'hold';

/**
 * How often `setDelay`'s function is drawn: once for each chunk read from either side (jitter;
 * chunks still arrive in the order sent), or once for each connection, the one value then
 * delaying every chunk of it in both directions (a slow route).
 */
export type DelayPer = 'chunk' | 'connection';

/** A chunk waiting for its delay, in the order read. */
interface Due {
  at: number;
  chunk: Buffer;
}

/** One direction of a forwarded connection: chunks read from `from` are written to `to`. */
interface Direction {
  readonly from: Socket;
  readonly to: Socket;
  /** Chunks waiting for their delay, oldest first; drained by one timer, so a short delay never overtakes a long one. */
  readonly due: Due[];
  timer: NodeJS.Timeout | null;
  /** `from` has closed with chunks still due: `to` is ended once they are written. */
  closing: boolean;
}

/** A client connection and its upstream, with the delay drawn for it under `per: 'connection'`. */
interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly directions: [Direction, Direction];
  delayMs: number;
}

/**
 * A TCP proxy on loopback that a test can partition and slow down. `cut()` destroys every
 * forwarded connection and blackholes (or refuses) new ones, or — `cut('hold')` — keeps them and
 * holds their bytes; `heal()` forwards again. `setDelay()` adds a delay drawn by the caller. Used
 * to cut one node off from a service (Redis, PostgreSQL, a peer's API) while every other node
 * still reaches it directly.
 */
export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  /** Connections accepted while blackholed: held without an upstream, destroyed on `heal()`. */
  private readonly blackholed = new Set<Socket>();
  /** Under `cut('hold')`: every chunk read since, across all connections, delivered in this order on `heal()`. */
  private held: Array<() => void> | null = null;
  private mode: CutMode | null = null;
  private delay: { draw: () => number; per: DelayPer } | null = null;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  /** Listens on a free loopback port and forwards every connection to `target`. */
  static async start(target: { host?: string; port: number }): Promise<TcpProxy> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    return new TcpProxy(server, port, { host: target.host ?? '127.0.0.1', port: target.port });
  }

  /** `host:port` for a client flag such as `--redis-addr`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Connections currently forwarded (held ones included). */
  get connections(): number {
    return this.pairs.size;
  }

  get isCut(): boolean {
    return this.mode !== null;
  }

  /**
   * Partition. `blackhole`/`refuse`: every live connection is destroyed now and new ones are
   * blackholed or refused until `heal()`. `hold`: connections stay open and every byte is held.
   */
  cut(mode: CutMode = 'blackhole'): void {
    this.mode = mode;
    if (mode === 'hold') {
      this.held ??= [];
      return;
    }
    this.held = null;
    for (const pair of this.pairs) this.drop(pair);
  }

  /** End the partition: held bytes are delivered in order, blackholed connections are closed (the client reconnects), new ones are forwarded. */
  heal(): void {
    this.mode = null;
    const held = this.held ?? [];
    this.held = null;
    for (const deliver of held) deliver();
    for (const socket of this.blackholed) socket.destroy();
    this.blackholed.clear();
  }

  /**
   * Delay what the proxy forwards by `draw()` milliseconds (≤ 0: none), drawn `per` chunk or per
   * connection; connections already open get a fresh draw at once. `null` ends the delay (chunks
   * already waiting still arrive at their time).
   */
  setDelay(draw: (() => number) | null, per: DelayPer = 'chunk'): void {
    this.delay = draw ? { draw, per } : null;
    for (const pair of this.pairs) pair.delayMs = this.connectionDelay();
  }

  async close(): Promise<void> {
    this.cut('refuse');
    this.heal();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    client.on('error', () => {});
    if (this.mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    if (this.mode === 'blackhole') {
      client.pause(); // read nothing: the client's writes pile up in the kernel buffers, as on a dead route
      this.blackholed.add(client);
      client.once('close', () => this.blackholed.delete(client));
      return;
    }
    const upstream = createConnection(this.target);
    upstream.on('error', () => {});
    const direction = (from: Socket, to: Socket): Direction => ({ from, to, due: [], timer: null, closing: false });
    const pair: Pair = { client, upstream, directions: [direction(client, upstream), direction(upstream, client)], delayMs: this.connectionDelay() };
    this.pairs.add(pair);
    for (const dir of pair.directions) {
      dir.from.on('data', (chunk: Buffer) => this.forward(pair, dir, chunk));
      // A side that closes ends the pair, but what it sent and is still delayed arrives first.
      dir.from.once('close', () => (dir.due.length === 0 ? this.drop(pair) : (dir.closing = true)));
    }
  }

  /** The delay of a connection under `per: 'connection'`; 0 otherwise. */
  private connectionDelay(): number {
    return this.delay?.per === 'connection' ? this.delay.draw() : 0;
  }

  private forward(pair: Pair, dir: Direction, chunk: Buffer): void {
    if (!this.pairs.has(pair)) return;
    if (this.held) {
      this.held.push(() => this.forward(pair, dir, chunk));
      return;
    }
    const delayMs = this.delay?.per === 'chunk' ? this.delay.draw() : pair.delayMs;
    if (delayMs <= 0 && dir.due.length === 0) {
      this.write(dir, chunk);
      return;
    }
    dir.due.push({ at: performance.now() + Math.max(0, delayMs), chunk });
    this.schedule(pair, dir);
  }

  /** Writes what is due, in order, and sets the timer for the next (a chunk never leaves before those read before it). */
  private schedule(pair: Pair, dir: Direction): void {
    if (dir.timer) return;
    const next = dir.due[0];
    if (!next) {
      if (dir.closing) dir.to.end(() => this.drop(pair));
      return;
    }
    dir.timer = setTimeout(
      () => {
        dir.timer = null;
        while (dir.due[0] && dir.due[0].at <= performance.now()) this.write(dir, dir.due.shift()!.chunk);
        this.schedule(pair, dir);
      },
      Math.max(0, next.at - performance.now()),
    );
  }

  /** Writes at once; while `to` is full, stops reading `from` (back-pressure, as `pipe` does). */
  private write(dir: Direction, chunk: Buffer): void {
    if (dir.to.destroyed) return;
    if (!dir.to.write(chunk) && !dir.from.isPaused()) {
      dir.from.pause();
      dir.to.once('drain', () => dir.from.resume());
    }
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    for (const dir of pair.directions) {
      if (dir.timer) clearTimeout(dir.timer);
      dir.due.length = 0;
    }
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
