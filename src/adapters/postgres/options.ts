/** Options of the PostgreSQL block store. */
export interface BlockStoreOptions {
  /** postgres:// URL (the `--postgres-url` flag). */
  url: string;
  /**
   * Pool size. Commits serialise on the fence row anyway; the extra connections serve reads
   * (HTTP API, feed replay) while a commit holds one. Must be 1 for embedded PGlite (§8).
   */
  maxConnections?: number;
  /**
   * How long to wait for a connection (TCP + startup + auth) before failing with DB_UNREACHABLE.
   * postgres.js defaults to 30 s; a node that cannot reach its database should say so quickly.
   */
  connectTimeoutMs?: number;
  /** Close connections idle this long, so a restarted server or proxy does not leave dead sockets. */
  idleTimeoutMs?: number;
}

export const defaultBlockStoreOptions = {
  maxConnections: 4,
  connectTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
} satisfies Omit<Required<BlockStoreOptions>, 'url'>;

/** Options of the embedded PGlite server (DESIGN §8). */
export interface EmbeddedPostgresOptions {
  /** Directory holding the PGlite data files; created if missing, reused across restarts. */
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 (default) lets the OS pick a free one. */
  port?: number;
}
