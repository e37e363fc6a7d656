/**
 * `npm run build` produces a runnable `dist/`: the built CLI answers `--help` with every option,
 * the run-time assets sit next to the modules that load them, and the pool finds its built worker.
 * The image's `node dist/cli/main.js` entry runs exactly this tree.
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import pino from 'pino';
import { runtimeAssets } from '../../scripts/build.js';
import { envName, flagName, options } from '../../src/cli/options.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Inside the repository: the built modules resolve their dependencies from its node_modules. */
const OUT = mkdtempSync(join(ROOT, 'dist-test-'));

test.before(async () => {
  await run(process.execPath, ['--import', 'tsx', 'scripts/build.ts', '--out-dir', OUT, '--no-check'], { cwd: ROOT, timeout: 110_000 });
});
test.after.always(() => rmSync(OUT, { recursive: true, force: true }));

test('the built CLI prints --help listing every flag and env var, and exits 0', async (t) => {
  const { stdout } = await run(process.execPath, [join(OUT, 'cli', 'main.js'), '--help'], { cwd: ROOT, timeout: 30_000 });
  for (const key of Object.keys(options)) {
    t.true(stdout.includes(`--${flagName(key)}`), `--help lists --${flagName(key)}`);
    t.true(stdout.includes(envName(key)), `--help lists ${envName(key)}`);
  }
});

test('the run-time assets are copied next to the modules that load them; the source-only shim is not', (t) => {
  const assets = runtimeAssets();
  t.true(assets.includes(join('node', 'statusPage.html')));
  t.true(
    assets.some((a) => a.endsWith('.sql')),
    'the SQL migrations are assets',
  );
  for (const asset of assets) t.true(existsSync(join(OUT, asset)), `${asset} is in the build`);
  t.false(existsSync(join(OUT, 'runtime', 'poolWorkerFromSource.mjs')), 'the tsx shim is not shipped');
});

test('the built pool runs a task on its built worker', async (t) => {
  const runtime = (await import(pathToFileURL(join(OUT, 'runtime', 'index.js')).href)) as typeof import('../../src/runtime/index.js');
  const built = (await import(pathToFileURL(join(OUT, 'tasks', 'index.js')).href)) as typeof import('../../src/tasks/index.js');
  const modules = runtime.createRuntimeModules({ logger: pino({ level: 'silent' }), pool: { tasks: built.poolTasks, threads: 1 } });
  try {
    const hash = await modules.pool.run('keccak256', new Uint8Array([1, 2, 3]));
    t.is(Buffer.from(hash).toString('hex'), 'f1885eda54b7a053318cd41e2093220dab15d65381b1157a3633a83bfd5c9239');
  } finally {
    await modules.pool.destroy();
  }
});
