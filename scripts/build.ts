/**
 * `npm run build`: compiles `src/` to `dist/` (ESM, `tsconfig.build.json`) and copies the files the
 * code loads at run time next to the compiled modules, because they are found relative to
 * `import.meta.url`: the status page (`node/statusPage.html`) and the SQL migrations
 * (`adapters/postgres/migrations/`). The built entry is `dist/cli/main.js`.
 *
 *   tsx scripts/build.ts [--out-dir <dir>] [--no-check]
 *
 * `--no-check` emits without type checking (`tsc --noCheck`): the build test uses it, since the
 * type check is `npm run typecheck`'s job and would double the test's time.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');

/**
 * Non-TypeScript files under `src/` that must not ship: the pool worker shim that registers tsx
 * for source runs (a built pool loads `poolWorker.js` directly, and tsx is a dev dependency).
 */
const SOURCE_ONLY = new Set(['runtime/poolWorkerFromSource.mjs']);

/** Every file under `dir`, as paths relative to `SRC`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? filesUnder(path) : [relative(SRC, path)];
  });
}

/** The run-time assets: every non-`.ts` file of `src/` except the source-only ones. */
export function runtimeAssets(): string[] {
  return filesUnder(SRC).filter((f) => extname(f) !== '.ts' && !SOURCE_ONLY.has(f.split('\\').join('/')));
}

function main(): void {
  const { values } = parseArgs({ options: { 'out-dir': { type: 'string', default: 'dist' }, 'no-check': { type: 'boolean', default: false } } });
  const outDir = resolve(ROOT, values['out-dir']);
  // A clean tree: a module deleted from src/ must not linger in the image.
  rmSync(outDir, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const args = [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', outDir, ...(values['no-check'] ? ['--noCheck'] : [])];
  const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`build: tsc failed (exit ${result.status ?? result.signal})\n`);
    process.exit(1);
  }
  for (const asset of runtimeAssets()) {
    const to = join(outDir, asset);
    cpSync(join(SRC, asset), to);
    process.stdout.write(`build: copied src/${asset} -> ${relative(ROOT, to) || to}\n`);
  }
  process.stdout.write(`build: ${relative(ROOT, outDir) || outDir}/cli/main.js is the entry\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
