import type { Logger } from 'pino';
import { BlockStore } from './blockStore.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded.js';
import type { BlockStoreOptions } from './options.js';

export { BlockStore, type BlockStoreModules } from './blockStore.js';
export { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded.js';
export * from './errors.js';
export * from './interface.js';
export * from './options.js';

export interface OpenBlockStoreOptions extends Partial<BlockStoreOptions> {
  /** Where embedded PGlite keeps its files when no `url` (`--postgres-url`) is configured. */
  embeddedDataDir: string;
}

export interface OpenedBlockStore {
  store: BlockStore;
  /** Closes the pool, then the embedded server if one was started. */
  stop(): Promise<void>;
}

/**
 * Chooses the mode: a configured URL means a real PostgreSQL server; none means embedded PGlite
 * with a pool of one (DESIGN §8). Either way the schema is migrated before the store is returned.
 */
export async function openBlockStore(opts: OpenBlockStoreOptions, modules: { logger: Logger }): Promise<OpenedBlockStore> {
  const { embeddedDataDir, url, ...rest } = opts;
  if (url) return migrated(new BlockStore({ ...rest, url }, modules), null);
  const embedded = await startEmbeddedPostgres({ dataDir: embeddedDataDir }, modules);
  return migrated(new BlockStore({ ...rest, url: embedded.url, maxConnections: 1 }, modules), embedded);
}

async function migrated(store: BlockStore, embedded: EmbeddedPostgres | null): Promise<OpenedBlockStore> {
  const stop = async (): Promise<void> => {
    await store.close();
    await embedded?.stop();
  };
  try {
    await store.migrate();
  } catch (err) {
    await stop();
    throw err;
  }
  return { store, stop };
}
