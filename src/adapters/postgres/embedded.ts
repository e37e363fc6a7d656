import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { Logger } from 'pino';
import type { EmbeddedPostgresOptions } from './options.js';

export interface EmbeddedPostgres {
  /** postgres:// URL of the socket server; give it to exactly one client with a pool of 1. */
  url: string;
  /** Stops accepting connections, drops the open one and closes the database files. */
  stop(): Promise<void>;
}

/**
 * Runs PGlite (PostgreSQL compiled to WASM, in this process) behind its wire-protocol socket so
 * the BlockStore talks to it through the same postgres.js code as to a real server (DESIGN §8).
 *
 * PGlite quirks that shape this:
 * - it is one single-user backend. pglite-socket multiplexes several sockets at the granularity
 *   of protocol messages, which interleaves two clients' extended-protocol messages (Parse/Bind/
 *   Execute of one client between those of another), so the server is kept at one connection
 *   and the client pool must be `max: 1`;
 * - a second concurrent connection is refused with a plain-text line that postgres.js does not
 *   understand: the second client hangs instead of failing. Share one BlockStore;
 * - advisory locks and `SELECT … FOR UPDATE` work, trivially, since there is one backend;
 * - opening a data directory takes seconds (the WASM instance initialises), so start it once.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions, modules: { logger: Logger }): Promise<EmbeddedPostgres> {
  await mkdir(opts.dataDir, { recursive: true });
  const db = await PGlite.create(opts.dataDir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: opts.port ?? 0, maxConnections: 1 });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    throw err;
  }
  // getServerConn() reports the OS-assigned port once listening.
  const url = `postgres://postgres@${server.getServerConn()}/postgres`;
  modules.logger.info({ dataDir: opts.dataDir, url }, 'Embedded PostgreSQL (PGlite) listening');
  let stopped: Promise<void> | undefined;
  return {
    url,
    stop: () =>
      (stopped ??= (async () => {
        await server.stop();
        await db.close();
      })()),
  };
}
