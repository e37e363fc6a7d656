import type { ExecutionContext } from 'ava';
import type { Redis } from 'ioredis';
import postgres from 'postgres';
import { elBlockHash } from './services.js';

/** One committed block as the integration tests read it back from `payloads`. */
export interface ChainRow {
  block_number: bigint;
  block_hash: string;
  parent_hash: string;
  epoch: bigint;
  leader: string;
  /** PostgreSQL's `now()` of the committing transaction. */
  created_at: Date;
}

/** Every committed block, by height. */
export async function readChain(dbUrl: string): Promise<ChainRow[]> {
  const sql = postgres(dbUrl, { max: 1, types: { bigint: postgres.BigInt }, onnotice: () => {} });
  try {
    return await sql<ChainRow[]>`SELECT block_number, block_hash, parent_hash, epoch, leader, created_at FROM payloads ORDER BY block_number`;
  } finally {
    await sql.end({ timeout: 2 });
  }
}

export interface OneChainOptions {
  /** The shared PostgreSQL database every leader commits to. */
  dbUrl: string;
  /** When the nodes publish to a Redis Stream: it must hold the committed hash at every height. */
  stream?: { redis: Redis; key: string };
  /** An EL that must stand on the committed chain (the active leader's), checked at the committed head. */
  elRpcUrl?: string;
}

/**
 * What breaks a committed chain read by `readChain`: the first height out of place (a gap or a
 * duplicate: every later one is out of place too), broken parent links, decreasing epochs.
 */
export function chainBreaks(rows: ChainRow[]): string[] {
  const broken: string[] = [];
  const gapAt = rows.findIndex((row, i) => row.block_number !== BigInt(i + 1));
  if (gapAt >= 0) broken.push(`height ${rows[gapAt]!.block_number} at index ${gapAt}: not contiguous`);
  for (const [i, row] of rows.entries()) {
    const prev = rows[i - 1];
    if (prev && row.parent_hash !== prev.block_hash) broken.push(`parent link broken at ${row.block_number}`);
    if (prev && row.epoch < prev.epoch) broken.push(`epoch decreases at ${row.block_number}: ${prev.epoch} → ${row.epoch}`);
  }
  return broken;
}

/**
 * The committed chain is one chain (DESIGN §4): one hash per height (unique hashes too),
 * contiguous from 1, parent-linked, epochs never decreasing; with `stream`, the Redis Stream holds
 * the same hash at every height; with `elRpcUrl`, that EL has the committed head.
 */
export async function assertOneChain(t: ExecutionContext, opts: OneChainOptions): Promise<ChainRow[]> {
  const rows = await readChain(opts.dbUrl);
  t.true(rows.length > 0, 'something was committed');
  t.is(new Set(rows.map((r) => r.block_hash)).size, rows.length, 'no hash at two heights');
  // One assertion for the whole chain, naming every break, instead of hundreds of passing ones.
  t.deepEqual(chainBreaks(rows), [], 'contiguous, parent-linked, epochs never decreasing');
  if (opts.stream) {
    const entries = await opts.stream.redis.xrange(opts.stream.key, '-', '+');
    const streamHash = new Map(entries.map(([id, fields]) => [id, fields[fields.indexOf('block_hash') + 1]]));
    t.is(entries.length, rows.length, 'one Stream entry per committed block');
    const mismatched = rows.filter((r) => streamHash.get(`${r.block_number}-0`) !== r.block_hash).map((r) => r.block_number);
    t.deepEqual(mismatched, [], 'the Stream holds the committed hash at every height');
  }
  if (opts.elRpcUrl) {
    const last = rows.at(-1)!;
    t.is(await elBlockHash(opts.elRpcUrl, last.block_number), last.block_hash, 'the active leader’s EL is on the committed chain');
  }
  return rows;
}

/**
 * Watches the committed head in PostgreSQL (every `intervalMs`) and records the longest time
 * between two successive new heads: the pause in production a fault caused.
 */
export function watchCommits(dbUrl: string, intervalMs = 100): { stop(): Promise<{ longestPauseMs: number; commits: number; head: bigint }> } {
  const sql = postgres(dbUrl, { max: 1, types: { bigint: postgres.BigInt }, onnotice: () => {} });
  let running = true;
  let head = -1n;
  let lastChange = performance.now();
  let longestPauseMs = 0;
  let commits = 0;
  const loop = (async () => {
    while (running) {
      const [row] = await sql<{ head: bigint | null }[]>`SELECT max(block_number) AS head FROM payloads`.catch(() => [{ head: null }]);
      const now = performance.now();
      if (row?.head != null && row.head > head) {
        if (head >= 0n) {
          longestPauseMs = Math.max(longestPauseMs, now - lastChange);
          commits += Number(row.head - head);
        }
        head = row.head;
        lastChange = now;
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await sql.end({ timeout: 2 });
      // A pause still going on counts too.
      longestPauseMs = Math.max(longestPauseMs, performance.now() - lastChange);
      return { longestPauseMs, commits, head };
    },
  };
}
