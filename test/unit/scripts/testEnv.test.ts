/**
 * `npm test`'s wrapper (scripts/test.ts): what it finds missing on a given machine, the one line it
 * stops with, where it looks for the shared services, and ava's command line and environment.
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import {
  avaCommand,
  CHROMIUM,
  missingLine,
  missingPrerequisites,
  type Probe,
  postgresBinDir,
  sharedServices,
  testEnvironment,
  which,
} from '../../../scripts/testEnv.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** A machine whose executables are exactly `files`, with `path` as PATH. */
function fakeMachine(path: string, files: string[], postgresBinDirs: string[] = []): Probe {
  const set = new Set(files);
  return { path, executable: (file) => set.has(file), postgresBinDirs: () => postgresBinDirs };
}

/** Debian with everything installed: PostgreSQL's server binaries off PATH. */
const COMPLETE = [
  '/usr/bin/redis-server',
  '/usr/bin/etcd',
  '/usr/bin/openssl',
  CHROMIUM,
  '/usr/lib/postgresql/15/bin/initdb',
  '/usr/lib/postgresql/15/bin/pg_ctl',
];
const DEBIAN_PG = ['/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'];

test('a complete machine misses nothing, with or without its own PostgreSQL', (t) => {
  const machine = fakeMachine('/usr/local/bin:/usr/bin', COMPLETE, DEBIAN_PG);
  t.deepEqual(missingPrerequisites(machine, {}, { ownPostgres: false }), []);
  t.deepEqual(missingPrerequisites(machine, {}, { ownPostgres: true }), []);
  t.is(postgresBinDir(machine), '/usr/lib/postgresql/15/bin', 'the newest version that has both binaries');
});

test('etcd missing: one line naming it and its Debian package', (t) => {
  const machine = fakeMachine(
    '/usr/bin',
    COMPLETE.filter((f) => f !== '/usr/bin/etcd'),
    DEBIAN_PG,
  );
  const missing = missingPrerequisites(machine, {}, { ownPostgres: false });
  t.is(missingLine(missing), 'npm test: etcd not found (apt-get install etcd-server)');
});

test('several missing: one line listing them all and every package', (t) => {
  const machine = fakeMachine('/usr/bin', ['/usr/bin/openssl'], []);
  const line = missingLine(missingPrerequisites(machine, {}, { ownPostgres: true }));
  t.is(line, `npm test: redis-server, etcd, ${CHROMIUM}, initdb/pg_ctl not found (apt-get install redis-server etcd-server chromium postgresql)`);
  t.false(line.includes('\n'));
});

test('PostgreSQL server binaries count only when the shared PostgreSQL is down', (t) => {
  const machine = fakeMachine(
    '/usr/bin',
    COMPLETE.filter((f) => !f.startsWith('/usr/lib/postgresql')),
    DEBIAN_PG,
  );
  t.deepEqual(missingPrerequisites(machine, {}, { ownPostgres: false }), []);
  t.deepEqual(missingPrerequisites(machine, {}, { ownPostgres: true }), [{ what: 'initdb/pg_ctl', debianPackage: 'postgresql' }]);
});

test("initdb and pg_ctl: PATH first, but only where both are; otherwise Debian's directory", (t) => {
  const both = fakeMachine('/opt/pg/bin:/usr/bin', [...COMPLETE, '/opt/pg/bin/initdb', '/opt/pg/bin/pg_ctl'], DEBIAN_PG);
  t.is(postgresBinDir(both), '/opt/pg/bin');
  const initdbOnly = fakeMachine('/opt/pg/bin:/usr/bin', [...COMPLETE, '/opt/pg/bin/initdb'], DEBIAN_PG);
  t.is(postgresBinDir(initdbOnly), '/usr/lib/postgresql/15/bin');
});

test('which: the first match on PATH, empty entries skipped, a path with a slash taken as is', (t) => {
  const machine = fakeMachine(':/a::/b', ['/a/etcd', '/b/etcd', '/opt/etcd/etcd']);
  t.is(which('etcd', machine), '/a/etcd');
  t.is(which('redis-server', machine), undefined);
  t.is(which('/opt/etcd/etcd', machine), '/opt/etcd/etcd');
  t.is(which('/opt/etcd/missing', machine), undefined);
});

test('BATON_TEST_ETCD_BIN is the etcd the check looks for, as the etcd helper uses it', (t) => {
  const machine = fakeMachine('/usr/bin', [...COMPLETE.filter((f) => f !== '/usr/bin/etcd'), '/opt/etcd/etcd'], DEBIAN_PG);
  t.deepEqual(missingPrerequisites(machine, { BATON_TEST_ETCD_BIN: '/opt/etcd/etcd' }, { ownPostgres: false }), []);
  t.is(
    missingLine(missingPrerequisites(machine, { BATON_TEST_ETCD_BIN: '/opt/etcd/gone' }, { ownPostgres: false })),
    'npm test: /opt/etcd/gone not found (apt-get install etcd-server)',
  );
});

test('the shared services probed are the BATON_TEST_* ones the helpers use, defaulting to :5432 and :6379', (t) => {
  t.deepEqual(sharedServices({}), { postgres: { host: '127.0.0.1', port: 5432 }, redis: { host: '127.0.0.1', port: 6379 } });
  t.deepEqual(sharedServices({ BATON_TEST_POSTGRES_URL: 'postgres://postgres@127.0.0.1:1/postgres', BATON_TEST_REDIS_ADDR: '127.0.0.1:2' }), {
    postgres: { host: '127.0.0.1', port: 1 },
    redis: { host: '127.0.0.1', port: 2 },
  });
  t.deepEqual(sharedServices({ BATON_TEST_POSTGRES_URL: 'postgres://u@db.example/x', BATON_TEST_REDIS_ADDR: 'redis://[::1]:7000' }), {
    postgres: { host: 'db.example', port: 5432 },
    redis: { host: '::1', port: 7000 },
  });
});

test("the tests' environment points BATON_TEST_* at what was started, and only that", (t) => {
  const base = { PATH: '/usr/bin', BATON_TEST_REDIS_ADDR: '10.0.0.1:6379' };
  t.deepEqual(testEnvironment(base, {}), base);
  t.deepEqual(testEnvironment(base, { postgresPort: 40001 }), { ...base, BATON_TEST_POSTGRES_URL: 'postgres://postgres@127.0.0.1:40001/postgres' });
  t.deepEqual(testEnvironment(base, { postgresPort: 40001, redisPort: 40002 }), {
    PATH: '/usr/bin',
    BATON_TEST_POSTGRES_URL: 'postgres://postgres@127.0.0.1:40001/postgres',
    BATON_TEST_REDIS_ADDR: '127.0.0.1:40002',
  });
});

test('ava gets every argument unchanged and in order: --tap, file arguments, options with spaces, a literal --', (t) => {
  const args = ['--tap', 'test/unit/cli/config.test.ts', '--match', 'a test with spaces', '--', 'test/integration/blockStream.test.ts'];
  t.deepEqual(avaCommand('/usr/bin/node', '/repo/node_modules/ava/entrypoints/cli.mjs', args), {
    command: '/usr/bin/node',
    args: ['/repo/node_modules/ava/entrypoints/cli.mjs', ...args],
  });
  t.deepEqual(avaCommand('/usr/bin/node', 'cli.mjs', []).args, ['cli.mjs']);
});

test('npm test with a PATH of only node stops at once with one line on stderr, nothing on stdout, exit 1', async (t) => {
  const bin = mkdtempSync(join(tmpdir(), 'baton-test-path-'));
  t.teardown(() => rmSync(bin, { recursive: true, force: true }));
  symlinkSync(process.execPath, join(bin, 'node'));
  const started = performance.now();
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/test.ts', '--tap'],
      { cwd: ROOT, env: { ...process.env, PATH: bin }, timeout: 30_000 },
      (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
  t.is(result.code, 1);
  t.is(result.stdout, '', 'ava never started');
  const lines = result.stderr.trimEnd().split('\n');
  t.is(lines.length, 1, `one line: ${result.stderr}`);
  t.regex(lines[0]!, /^npm test: redis-server, etcd, openssl.* not found \(apt-get install redis-server etcd-server openssl.*\)$/);
  t.true(performance.now() - started < 10_000, 'without waiting on anything');
});
