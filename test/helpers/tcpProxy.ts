import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** What `cut()` does to connections that arrive while the link is down. */
export type CutMode =
  /** Accept and then say nothing (a dropped route): the client's requests hang until it times out. */
  | 'blackhole'
  /** Reset at once (a closed port): the client sees errors and retries. */
  | 'refuse';

/**
 * A TCP proxy on loopback that a test can partition: `cut()` destroys every forwarded connection
 * and blackholes (or refuses) new ones; `heal()` forwards again. Used to cut one node off from a
 * service (Redis) while every other node still reaches it directly.
 */
export class TcpProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  /** Connections accepted while cut: held without an upstream, destroyed on `heal()`. */
  private readonly held = new Set<Socket>();
  private mode: CutMode | null = null;

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

  /** Connections currently forwarded. */
  get connections(): number {
    return this.pairs.size;
  }

  get isCut(): boolean {
    return this.mode !== null;
  }

  /** Partition: every live connection is destroyed now; new ones are blackholed or refused until `heal()`. */
  cut(mode: CutMode = 'blackhole'): void {
    this.mode = mode;
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  /** End the partition: held connections are closed (the client reconnects) and new ones are forwarded. */
  heal(): void {
    this.mode = null;
    for (const socket of this.held) socket.destroy();
    this.held.clear();
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
      this.held.add(client);
      client.once('close', () => this.held.delete(client));
      return;
    }
    const upstream = createConnection(this.target);
    upstream.on('error', () => {});
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const drop = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.once('close', drop);
    upstream.once('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
