import { readdir, readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';

/** Versioned SQL files shipped next to this module: `NNN_description.sql`. */
const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
const FILE_PATTERN = /^(\d+)_([\w-]+)\.sql$/;

/**
 * Key of the transaction-scoped advisory lock that serialises migrations. Two nodes starting at
 * once would otherwise both see version N missing and race on CREATE TABLE. Arbitrary constant
 * ("baton" in ASCII); it only has to be unique among advisory locks taken in this database.
 */
const MIGRATION_LOCK_KEY = 0x6261746f6en;

interface Migration {
  version: number;
  name: string;
  file: URL;
}

async function listMigrations(): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for (const file of await readdir(MIGRATIONS_DIR)) {
    const m = FILE_PATTERN.exec(file);
    if (!m) continue;
    migrations.push({ version: Number(m[1]), name: m[2] ?? '', file: new URL(file, MIGRATIONS_DIR) });
  }
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]?.version === migrations[i - 1]?.version) {
      throw new Error(`duplicate migration version ${migrations[i]?.version}`);
    }
  }
  return migrations;
}

/**
 * Applies every migration not yet recorded in `schema_migrations`, all in one transaction under
 * an advisory lock: either the schema moves to the newest version or nothing changes, and a
 * concurrent starter waits, then finds nothing left to do. Returns the versions applied.
 */
export async function runMigrations(sql: Sql<{ bigint: bigint }>, logger: Logger): Promise<number[]> {
  const migrations = await listMigrations();
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    await tx`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`;
    const done = new Set((await tx<{ version: number }[]>`SELECT version FROM schema_migrations`).map((r) => r.version));
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      // The one place SQL is not a tagged template: trusted files shipped with the code, run as a
      // simple-protocol multi-statement script.
      await tx.unsafe(await readFile(m.file, 'utf8'));
      await tx`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
      logger.info({ version: m.version, name: m.name }, 'Applied migration');
      applied.push(m.version);
    }
    return applied;
  });
}
