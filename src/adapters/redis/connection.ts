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
  const common: RedisOptions = { password: o.password, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3_000, retryStrategy: (n) => Math.min(n * 200, 2_000) };
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
