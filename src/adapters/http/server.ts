import uWS, { type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import { HttpError, HttpErrorCode } from './errors.js';
import type { ListenAddress } from './options.js';
import { describePortHolder } from './portHolder.js';
import { Reply } from './reply.js';

/** `LIBUS_LISTEN_EXCLUSIVE_PORT`: listen without SO_REUSEPORT (a plain export of the binding; an enum only in the typings). */
const LISTEN_EXCLUSIVE_PORT = 1;

/**
 * `listen(host, port, options, cb)`: the native binding takes the options after the host too,
 * but the typings declare options only for the port-only overload.
 */
function listenExclusive(app: TemplatedApp, host: string, port: number, cb: (socket: us_listen_socket | false) => void): void {
  (app.listen as unknown as (this: TemplatedApp, h: string, p: number, o: number, c: typeof cb) => void).call(app, host, port, LISTEN_EXCLUSIVE_PORT, cb);
}

/** A route handler. Read everything it needs from `req` before its first `await`: uWS frees it on return. */
export type RouteHandler = (reply: Reply, req: HttpRequest) => void | Promise<void>;

export interface HttpServerOptions extends ListenAddress {
  /** Names the server in logs (`health`, `api`). */
  name: string;
}

/** Handler failures that are bugs (not `HttpError`s) are logged here with their stack. */
export interface HttpServerModules {
  logger: Logger;
}

/**
 * One uWebSockets.js app on one address. Routes added through `get`/`post` get the error contract
 * of the whole HTTP surface: a thrown `HttpError` becomes its status with `{error: {code, message}}`,
 * anything else a logged 500, and a handler can never crash the process or write to an aborted
 * response. Every path answers: other methods on a known path get 405 with `Allow`, unknown paths
 * 404 (uWS ranks method-specific routes above `any` and static segments above wildcards).
 */
export class HttpServer {
  /** The raw app, for what this class does not wrap (`app.ws("/feed", …)`), on the same port. */
  readonly app: TemplatedApp;
  private readonly logger: Logger;
  private readonly allowed = new Map<string, Set<string>>();
  private listenSocket: us_listen_socket | null = null;
  private boundPort: number | undefined;
  private closed = false;

  constructor(
    private readonly opts: HttpServerOptions,
    modules: HttpServerModules,
  ) {
    this.logger = modules.logger.child({ server: opts.name });
    this.app = uWS.App();
    this.app.any(
      '/*',
      this.wrap((reply) => reply.error(404, HttpErrorCode.NOT_FOUND, 'no such route')),
    );
  }

  /** Registers a GET route; other methods on `pattern` then answer 405. */
  get(pattern: string, handler: RouteHandler): this {
    return this.route('get', pattern, handler);
  }

  /** Registers a POST route (read the body with `readJsonBody`); other methods on `pattern` then answer 405. */
  post(pattern: string, handler: RouteHandler): this {
    return this.route('post', pattern, handler);
  }

  /** The bound port (the real one when the configured port was 0); throws before `listen()` resolved. */
  get port(): number {
    if (this.boundPort === undefined) throw new HttpError(HttpErrorCode.LISTEN_FAILED, `${this.opts.name} server is not listening yet`);
    return this.boundPort;
  }

  /**
   * Starts listening and resolves with the bound port; rejects with LISTEN_FAILED (e.g. port taken,
   * naming the process that holds it where that can be told). The port is exclusive: uWS would
   * otherwise set SO_REUSEPORT, and a second node on the same address would silently share the
   * port with the first, each answering part of the requests.
   */
  listen(): Promise<number> {
    const { host, port, name } = this.opts;
    return new Promise((resolve, reject) => {
      const onListen = (socket: us_listen_socket | false): void => {
        if (!socket) {
          const holder = port === 0 ? null : describePortHolder(port);
          const why = holder ? `: the port is held by ${holder}` : port === 0 ? '' : ': the address is in use or not available here';
          reject(new HttpError(HttpErrorCode.LISTEN_FAILED, `${name} server cannot listen on ${host || '*'}:${port}${why}`, { host, port }));
          return;
        }
        this.listenSocket = socket;
        this.boundPort = uWS.us_socket_local_port(socket as uWS.us_socket);
        this.logger.info({ host, port: this.boundPort }, 'HTTP server listening');
        resolve(this.boundPort);
      };
      // Without a host uWS binds every interface (IPv6 dual-stack where available).
      if (host === '') this.app.listen(port, LISTEN_EXCLUSIVE_PORT, onListen);
      else listenExclusive(this.app, host, port, onListen);
    });
  }

  /**
   * Stops accepting, then closes open connections (idempotent) (keep-alive sockets would otherwise hold the
   * event loop open and keep answering). `app.close()` exists in the bundled uWS build but is not
   * in its typings.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
    (this.app as TemplatedApp & { close(): void }).close();
  }

  private route(method: 'get' | 'post', pattern: string, handler: RouteHandler): this {
    this.app[method](pattern, this.wrap(handler));
    (this.allowed.get(pattern) ?? this.answer405(pattern)).add(method.toUpperCase());
    return this;
  }

  /** Registers the 405 answer of a new pattern; the returned set collects its methods for `Allow`. */
  private answer405(pattern: string): Set<string> {
    const methods = new Set<string>();
    this.allowed.set(pattern, methods);
    this.app.any(
      pattern,
      this.wrap((reply, req) => {
        const allow = [...methods].join(', ');
        reply.error(405, HttpErrorCode.METHOD_NOT_ALLOWED, `${req.getMethod().toUpperCase()} not allowed; use ${allow}`, { allow });
      }),
    );
    return methods;
  }

  private wrap(handler: RouteHandler): (res: HttpResponse, req: HttpRequest) => void {
    return (res, req) => {
      const reply = new Reply(res);
      try {
        const pending = handler(reply, req);
        if (pending) pending.catch((err: unknown) => this.fail(reply, err));
      } catch (err) {
        this.fail(reply, err);
      }
    };
  }

  private fail(reply: Reply, err: unknown): void {
    if (err instanceof HttpError) {
      reply.error(err.status, err.code, err.message);
      return;
    }
    this.logger.error({ err }, 'HTTP handler failed');
    reply.error(500, HttpErrorCode.INTERNAL, 'internal error');
  }
}
