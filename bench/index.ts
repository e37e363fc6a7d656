/**
 * `npm run bench [-- --quick] [-- --only runtime,verify]`: runs every bench, each in its own
 * process (one bench's threads and sockets never disturb another's figures), shows their progress
 * as it comes, and writes one report — the tables on stdout and `bench/results/<date>.json` with
 * the machine it ran on. `--quick` is the CI smoke size (a few minutes in all).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { printTable, SECTIONS_FILE_ENV, type Section } from './stats.js';

/** Every bench, in the order the report lists them, with the arguments of its quick mode. */
export const BENCHES = {
  runtime: { script: 'runtime.ts', quickArgs: ['--quick'] },
  pipeline: { script: 'pipeline.ts', quickArgs: ['--quick'] },
  verify: { script: 'verify.ts', quickArgs: ['--quick'] },
  mempool: { script: 'mempool.ts', quickArgs: ['--quick'] },
  catchup: { script: 'catchup.ts', quickArgs: ['--quick'] },
  feed: { script: 'feed.ts', quickArgs: ['--quick'] },
  failover: { script: 'failover.ts', quickArgs: ['--quick'] },
  memory: { script: 'memory.ts', quickArgs: ['--quick'] },
  endToEnd: { script: 'endToEnd.ts', quickArgs: ['--quick'] },
  rpc: { script: 'rpc.ts', quickArgs: ['--quick'] },
} as const;
export type BenchName = keyof typeof BENCHES;

export interface BenchReport {
  date: string;
  quick: boolean;
  machine: { cores: number; cpu: string; node: string; loadAverageAtStart: number };
  sections: Section[];
  /** Benches that exited non-zero: named in the report rather than silently missing. */
  failed: { bench: BenchName; exitCode: number | null }[];
}

const HERE = fileURLToPath(new URL('.', import.meta.url));

/** Reads the JSON lines the benches appended (`reportSection`); a torn or foreign line is an error, not a silent gap. */
export function parseSections(jsonLines: string): Section[] {
  return jsonLines
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const section = JSON.parse(line) as Section;
      if (typeof section.title !== 'string' || !Array.isArray(section.rows)) throw new Error(`bench section ${i + 1} is not {title, rows}`);
      for (const row of section.rows)
        if (typeof row.figure !== 'string' || typeof row.value !== 'number') throw new Error(`a row of "${section.title}" has no figure or value`);
      return section;
    });
}

/** Runs the named benches one after another and collects their sections; progress goes to `log`. */
export async function runBenches(names: BenchName[], quick: boolean, log: (line: string) => void = console.log): Promise<BenchReport> {
  const dir = await mkdtemp(join(tmpdir(), 'baton-bench-'));
  const sectionsFile = join(dir, 'sections.jsonl');
  await writeFile(sectionsFile, '');
  const failed: BenchReport['failed'] = [];
  const loadAverageAtStart = loadavg()[0]!;
  try {
    for (const name of names) {
      const { script, quickArgs } = BENCHES[name];
      log(`▶ ${name}${quick ? ' (quick)' : ''}`);
      const exitCode = await new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, script), ...(quick ? quickArgs : [])], {
          env: { ...process.env, [SECTIONS_FILE_ENV]: sectionsFile },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        child.stdout.setEncoding('utf8');
        // Each bench prints its progress and its table; the one-line JSON dumps are for its own callers.
        child.stdout.on('data', (chunk: string) => {
          for (const line of chunk.split('\n')) if (line && !line.startsWith('{')) log(`  ${line}`);
        });
        child.on('exit', (code) => resolve(code));
      });
      if (exitCode !== 0) failed.push({ bench: name, exitCode });
    }
    return {
      date: new Date().toISOString(),
      quick,
      machine: { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version, loadAverageAtStart },
      sections: parseSections(await readFile(sectionsFile, 'utf8')),
      failed,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Prints every section again as one report and writes it as JSON; returns the file written. */
export async function writeReport(report: BenchReport, resultsDir = join(HERE, 'results')): Promise<string> {
  console.log(
    `\n═══ Baton bench ${report.date}${report.quick ? ' (quick)' : ''}: ${report.machine.cores} cores, Node ${report.machine.node}, load ${report.machine.loadAverageAtStart.toFixed(1)} at start ═══`,
  );
  for (const section of report.sections) printTable(section.title, section.rows);
  for (const f of report.failed) console.log(`\n✘ ${f.bench} exited with ${f.exitCode}`);
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `${report.date.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwritten to ${file}`);
  return file;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const onlyAt = args.indexOf('--only');
  const names = (onlyAt >= 0 ? (args[onlyAt + 1] ?? '').split(',') : Object.keys(BENCHES)) as BenchName[];
  const unknown = names.filter((n) => !(n in BENCHES));
  if (unknown.length) {
    console.error(`--only: unknown bench ${unknown.join(', ')} (one of ${Object.keys(BENCHES).join(', ')})`);
    process.exit(2);
  }
  const report = await runBenches(names, quick);
  await writeReport(report);
  process.exit(report.failed.length ? 1 : 0);
}
