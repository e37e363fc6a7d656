/**
 * The README's first command, run as a newcomer runs it: in a fresh checkout, from its top
 * directory, exactly as written (relative default `--data-dir`, default ports, no environment of
 * ours). It must install, start a leader on the embedded default, produce blocks, stop on Ctrl-C
 * with exit code 0, and leave nothing behind but `node_modules/` and `.baton/`.
 */

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { waitFor } from '../helpers/batonProcess.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The first line of the README's first code block, without its comment: the command a newcomer runs first. */
function firstReadmeCommand(): string {
  const block = /```sh\n([\s\S]*?)\n```/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'))?.[1] ?? '';
  return (block.split('\n')[0] ?? '').replace(/\s+#.*$/, '').trim();
}

/** A checkout as `git clone` would make it: the tracked (and new, not ignored) files, nothing else. */
function freshCheckout(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'baton-readme-')), 'baton');
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) {
    let content: Buffer;
    try {
      content = readFileSync(join(ROOT, file));
    } catch {
      continue; // deleted in the working tree
    }
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), content, { mode: statSync(join(ROOT, file)).mode });
  }
  return dir;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

/** Every path under `dir` (relative), not descending into `skip`. */
function listTree(dir: string, skip: Set<string>, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = join(prefix, entry.name);
    if (skip.has(path)) return [path];
    return entry.isDirectory() ? [path, ...listTree(dir, skip, path)] : [path];
  });
}

test("the README's first command runs a leader on the embedded default in a fresh checkout", async (t) => {
  const command = firstReadmeCommand();
  t.is(command, 'npm ci && npm start -- --role leader', 'the command this test runs is the one the README shows');
  for (const port of [8080, 8090]) t.true(await portIsFree(port), `the README's default port ${port} must be free for this test`);

  const checkout = freshCheckout();
  const before = new Set(listTree(checkout, new Set(['.git'])));
  // A newcomer's shell: none of the BATON_* or test variables this suite may have set.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('BATON_') && !key.startsWith('AVA') && key !== 'NODE_OPTIONS'));
  // `trap : INT` makes this shell outlive a Ctrl-C as an interactive one does (the command's
  // processes still get it), so its exit code is the command's.
  const shell = spawn('sh', ['-c', `trap : INT; ${command}`], { cwd: checkout, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  shell.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  shell.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => shell.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    try {
      process.kill(-shell.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  });

  const health = await waitFor(
    'the README leader to commit 3 blocks',
    async () => {
      if (shell.exitCode !== null) throw new Error(`the command exited with ${shell.exitCode}:\n${output.slice(-3_000)}`);
      const res = await fetch('http://127.0.0.1:8080/health', { signal: AbortSignal.timeout(2_000) });
      const body = (await res.json()) as {
        head?: { number: number } | null;
        isLeader?: boolean;
        leaseBackend?: string;
        executionClient?: { embedded: boolean };
      };
      return (body.head?.number ?? 0) >= 3 ? body : undefined;
    },
    300_000,
    500,
  );
  t.true(health.isLeader);
  t.is(health.leaseBackend, 'file');
  t.true(health.executionClient?.embedded);
  const page = await fetch('http://127.0.0.1:8090/');
  t.is(page.status, 200, 'the status page answers where the start-up line says');
  t.regex(output, /Baton node ready: status page http:\/\/127\.0\.0\.1:8090\//);
  t.regex(output, /Block committed #\d+ 0x[0-9a-f]{8}/);

  process.kill(-shell.pid!, 'SIGINT'); // Ctrl-C at the terminal
  // npm reports any script it saw interrupted as 130; the node itself stopped cleanly when its last
  // line is "Stopped" and nothing was logged at error level on the way.
  t.true([0, 130].includes((await exited) ?? -1), `exit code after Ctrl-C (output: ${output.slice(-2_000)})`);
  const logLines = output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string });
  t.is(logLines.at(-1)?.msg, 'Stopped');
  t.deepEqual(
    logLines.filter((l) => l.level >= 50).map((l) => l.msg),
    [],
    'nothing logged at error level',
  );
  const added = listTree(checkout, new Set(['.git', 'node_modules', '.baton'])).filter((path) => !before.has(path));
  t.deepEqual(added.sort(), ['.baton', 'node_modules'], 'nothing but the install and the data dir is left in the checkout');
  t.true(statSync(join(checkout, '.baton', 'el', 'baton-genesis.json')).isFile(), 'the data dir is ./.baton under the checkout');
  const litter = listTree(checkout, new Set(['.git', 'node_modules'])).filter((path) => /false$|-audit\.json$/.test(path));
  t.deepEqual(litter, [], "no log-rotation files of the EL's (a file named after the string false)");
});
