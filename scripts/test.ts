/**
 * `npm test [-- <ava arguments>]`: the suite under ava, on a machine that has what it needs.
 *
 * 1. Probes the shared PostgreSQL and Redis (`BATON_TEST_POSTGRES_URL`, default :5432;
 *    `BATON_TEST_REDIS_ADDR`, default :6379).
 * 2. Stops at once, with one line naming what is missing and its Debian package, if a binary the
 *    tests run is absent: redis-server, etcd, openssl, /usr/bin/chromium, and PostgreSQL's
 *    initdb/pg_ctl when the shared PostgreSQL is down.
 * 3. Starts a throwaway PostgreSQL and/or Redis for whichever shared one is down (and only then),
 *    pointing the `BATON_TEST_*` variables at them.
 * 4. Runs ava with every argument unchanged, its stdout and stderr the terminal's (`.ci/run`
 *    counts its TAP lines), and exits with ava's code after stopping what it started — also on
 *    Ctrl-C or SIGTERM, which ava gets as an interrupt so its teardowns still run.
 *
 * Its own lines go to stderr, prefixed `npm test:`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants as fs, readdirSync, statSync } from 'node:fs';
import { constants as os } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { avaCommand, missingLine, missingPrerequisites, type OwnServices, type Probe, postgresBinDir, sharedServices, testEnvironment } from './testEnv.js';
import { type OwnService, reachable, startPostgres, startRedis } from './testServices.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const AVA_CLI = join(ROOT, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
/** Where Debian installs each PostgreSQL major version's server binaries (not on PATH). */
const DEBIAN_POSTGRES_LIB = '/usr/lib/postgresql';

function say(line: string): void {
  process.stderr.write(`npm test: ${line}\n`);
}

/** This machine. */
const machine: Probe = {
  path: process.env.PATH ?? '',
  executable(file) {
    try {
      accessSync(file, fs.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  },
  postgresBinDirs() {
    try {
      return readdirSync(DEBIAN_POSTGRES_LIB)
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => join(DEBIAN_POSTGRES_LIB, v, 'bin'));
    } catch {
      return [];
    }
  },
};

async function main(): Promise<number> {
  const shared = sharedServices(process.env);
  const [postgresUp, redisUp] = await Promise.all([reachable(shared.postgres), reachable(shared.redis)]);
  const missing = missingPrerequisites(machine, process.env, { ownPostgres: !postgresUp });
  if (missing.length > 0) {
    process.stderr.write(`${missingLine(missing)}\n`);
    return 1;
  }

  const started: OwnService[] = [];
  let ava: ChildProcess | undefined;
  let interrupted: NodeJS.Signals | undefined;
  // A terminal's Ctrl-C reaches ava itself too; ava treats a repeated SIGINT as the same interrupt.
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted ??= signal;
    ava?.kill('SIGINT');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const interruptedCode = () => 128 + (os.signals[interrupted!] ?? 0);
  try {
    const own: OwnServices = {};
    if (!postgresUp) {
      const pg = await startPostgres(postgresBinDir(machine)!);
      started.push(pg);
      own.postgresPort = pg.port;
      say(`no PostgreSQL at ${shared.postgres.host}:${shared.postgres.port}: started a throwaway one on 127.0.0.1:${pg.port} for this run`);
    }
    if (interrupted) return interruptedCode();
    if (!redisUp) {
      const redis = await startRedis();
      started.push(redis);
      own.redisPort = redis.port;
      say(`no Redis at ${shared.redis.host}:${shared.redis.port}: started a throwaway one on 127.0.0.1:${redis.port} for this run`);
    }
    if (interrupted) return interruptedCode();

    const { command, args } = avaCommand(process.execPath, AVA_CLI, process.argv.slice(2));
    const child = spawn(command, args, { stdio: 'inherit', env: testEnvironment(process.env, own) });
    ava = child;
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    return code ?? 128 + (signal ? (os.signals[signal] ?? 0) : 0);
  } catch (err) {
    if (interrupted) return interruptedCode();
    say((err as Error).message);
    return 1;
  } finally {
    for (const service of started.reverse()) await service.stop().catch((err: Error) => say(`teardown: ${err.message}`));
  }
}

process.exit(await main());
