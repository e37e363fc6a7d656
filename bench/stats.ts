/** Small measurement helpers shared by the benches: percentiles, a printed table, the report sections. */
import { appendFileSync } from 'node:fs';

export function percentile(sortedAscending: number[], p: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  const index = Math.min(sortedAscending.length - 1, Math.ceil((p / 100) * sortedAscending.length) - 1);
  return sortedAscending[Math.max(0, index)]!;
}

export interface Row {
  figure: string;
  value: number;
  unit: string;
  baseline?: number;
  /** How `value` compares to `baseline`; `higherIsBetter` decides the ratio's direction. */
  higherIsBetter?: boolean;
}

/** value/baseline for rates, baseline/value for latencies: a ratio above 1 always means Baton is ahead. */
export function ratio(row: Row): number | undefined {
  if (row.baseline === undefined) return undefined;
  return row.higherIsBetter === false ? row.baseline / row.value : row.value / row.baseline;
}

export function printTable(title: string, rows: Row[]): void {
  const fmt = (n: number | undefined) => (n === undefined ? '' : n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toPrecision(3));
  const lines = rows.map((r) => [
    r.figure,
    `${fmt(r.value)} ${r.unit}`,
    r.baseline === undefined ? '' : `${fmt(r.baseline)} ${r.unit}`,
    fmt(ratio(r)) + (ratio(r) === undefined ? '' : ' ×'),
  ]);
  const header = ['figure', 'value', 'baseline', 'ratio'];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\n${title}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const l of lines) console.log(line(l));
}

/** Set by `npm run bench` for each bench it runs: where that bench appends its sections as JSON lines. */
export const SECTIONS_FILE_ENV = 'BATON_BENCH_SECTIONS';

/** One printed table, as `npm run bench` collects it into `bench/results/<date>.json`. */
export interface Section {
  title: string;
  rows: (Row & { ratio?: number })[];
}

/**
 * Prints a table and, when run by `npm run bench`, records it for the combined report: each
 * bench stays runnable on its own (`npx tsx bench/feed.ts`) and the report reads what they measured.
 */
export function reportSection(title: string, rows: Row[]): void {
  printTable(title, rows);
  const file = process.env[SECTIONS_FILE_ENV];
  if (file) appendFileSync(file, `${JSON.stringify({ title, rows: rows.map((r) => ({ ...r, ratio: ratio(r) })) } satisfies Section)}\n`);
}
