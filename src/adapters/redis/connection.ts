import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';

/** How to reach Redis: one address (plain or TLS), or a Sentinel group that names the master. */
export interface RedisConnectionOptions {
  /** `redis://…` or `rediss://…` (TLS); unused when `sentinels` is set. */
  addr?: string;
  /** AUTH password (also used for the master a Sentinel names). */
  password?: string;
  /** PEM CA bundle that signed the server's certificate, for `rediss://` with a private CA. */
  tlsCaFile?: string;
  /** Sentinel `host:port`s; ioredis asks them for the master and follows a failover. */
  sentinels?: string[];
  /** The master's name in the Sentinels' configuration. */
  sentinelName?: string;
}

/**
 * The ioredis options of one connection: TLS when the address is `rediss://` (with `tlsCaFile`
 * as its CA), Sentinel discovery when `sentinels` is set (the connection is then made to whatever
 * master they report, and re-made after a Sentinel failover). Retries are bounded so a request
 * during an outage fails fast instead of queueing: renewals must see the outage to demote.
 */
export function redisOptions(o: RedisConnectionOptions): RedisOptions {
  const ca = o.tlsCaFile ? readFileSync(o.tlsCaFile) : undefined;
  const common: RedisOptions = {
    password: o.password,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 3_000,
    retryStrategy: (n) => Math.min(n * 200, 2_000),
  };
  if (o.sentinels?.length) {
    return {
      ...common,
      sentinels: o.sentinels.map((s) => {
        const [host, port] = splitHostPort(s);
        return { host, port };
      }),
      name: o.sentinelName ?? 'mymaster',
      ...(ca ? { tls: { ca }, sentinelTLS: { ca }, enableTLSForSentinelMode: true } : {}),
    };
  }
  if (!o.addr) throw new Error('a Redis connection needs an address or Sentinels');
  const url = new URL(o.addr);
  return {
    ...common,
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    password: o.password ?? (url.password ? decodeURIComponent(url.password) : undefined),
    // SNI takes names only: for an IP the certificate is checked against its IP SANs instead.
    ...(url.protocol === 'rediss:' ? { tls: { ...(ca ? { ca } : {}), ...(isIP(url.hostname) ? {} : { servername: url.hostname }) } } : {}),
  };
}

/** A connection (not yet connected: `lazyConnect`) per `redisOptions`. */
export function createRedis(o: RedisConnectionOptions): Redis {
  return new Redis(redisOptions(o));
}

/** Where the connection goes, for logs and errors: never the password. */
export function describeRedis(o: RedisConnectionOptions): string {
  if (o.sentinels?.length) return `master "${o.sentinelName ?? 'mymaster'}" via Sentinels ${o.sentinels.join(',')}`;
  const url = new URL(o.addr!);
  return `${url.protocol}//${url.host}`;
}

function splitHostPort(s: string): [string, number] {
  const at = s.lastIndexOf(':');
  return [s.slice(0, at).replace(/^\[|\]$/g, ''), Number(s.slice(at + 1))];
}

/** Why a first connection failed, in terms of what the operator must fix. */
export type RedisConnectProblem = 'unreachable' | 'auth' | 'tls' | 'setup';

/** A first connection that failed; `problem` picks the flag to blame (`--redis-password` for `auth`). */
export class RedisConnectError extends Error {
  constructor(
    readonly problem: RedisConnectProblem,
    message: string,
  ) {
    super(message);
  }
}

/** The whole first connection (TCP, TLS, AUTH, PING) must succeed within this, or the node refuses to start. */
const FIRST_CONNECT_MS = 5_000;

/**
 * Connects and PINGs once, within `FIRST_CONNECT_MS`, or throws a `RedisConnectError` that says
 * what is wrong: ioredis reports a refused connection only as "Connection is closed." from
 * `connect()`, with the cause (ECONNREFUSED, a TLS or AUTH failure) on its `error` event, so the
 * last such event is kept and named instead.
 */
export async function connectRedis(o: RedisConnectionOptions): Promise<Redis> {
  let redis: Redis;
  try {
    redis = createRedis(o);
  } catch (err) {
    throw new RedisConnectError('setup', `cannot set up the Redis connection: ${(err as Error).message}`);
  }
  let cause: Error | null = null;
  const onError = (err: Error) => (cause = err);
  redis.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${FIRST_CONNECT_MS} ms`)), FIRST_CONNECT_MS);
  });
  try {
    await Promise.race([redis.connect().then(() => redis.ping()), deadline]);
    return redis;
  } catch (err) {
    redis.disconnect();
    const reason: Error = cause ?? (err as Error);
    const text = reason.message;
    const problem: RedisConnectProblem = /NOAUTH|WRONGPASS|invalid password|invalid username/i.test(text)
      ? 'auth'
      : /certificate|SSL|TLS|self[- ]signed/i.test(text)
        ? 'tls'
        : 'unreachable';
    const what = { auth: 'refused the credentials', tls: 'failed the TLS handshake', unreachable: 'is unreachable', setup: '' }[problem];
    throw new RedisConnectError(problem, `Redis ${describeRedis(o)} ${what}: ${text}`);
  } finally {
    clearTimeout(timer);
    redis.off('error', onError);
  }
}
