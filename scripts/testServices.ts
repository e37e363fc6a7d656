/**
 * Throwaway PostgreSQL and Redis for `npm test` (scripts/test.ts), started only when the shared
 * ones are down: each on a free loopback port, with its files in its own temp dir, removed by
 * `stop()`. Nothing here ever touches the shared servers.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../src/adapters/executionClient/freePort.js';
import type { HostPort } from './testEnv.js';

/** A service the wrapper started. */
export interface OwnService {
  port: number;
  stop(): Promise<void>;
}

/** A connect attempt to a filtered address gives up after this; a closed port refuses at once. */
const PROBE_TIMEOUT_MS = 1_000;
/** initdb, and pg_ctl's wait for the server to accept connections (`-t`). */
const POSTGRES_START_TIMEOUT_S = 60;
/** redis-server with no data to load listens within milliseconds; this is for a loaded machine. */
const REDIS_START_TIMEOUT_MS = 10_000;
/** SIGTERM grace before SIGKILL when stopping the throwaway Redis. */
const REDIS_STOP_TIMEOUT_MS = 5_000;

/** Whether something accepts TCP connections at `target`. */
export function reachable(target: HostPort, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port, timeout: timeoutMs });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** The last lines of a log file, for an error message; empty if there is none. */
function tail(file: string, lines = 5): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join(' | ');
  } catch {
    return '';
  }
}

/** Runs a command to completion; rejects with its last output lines. */
function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (!err) return resolve();
      const output = `${stdout}${stderr}`.trim().split('\n').slice(-5).join(' | ');
      reject(new Error(`${[command, ...args].join(' ')} failed: ${output || err.message}`));
    });
  });
}

/**
 * The account PostgreSQL runs as when we are root (initdb and pg_ctl refuse root): Debian's
 * `postgres` system user, else `nobody`.
 */
function serverAccount(): { name: string; uid: number; gid: number } {
  for (const name of ['postgres', 'nobody']) {
    try {
      const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return { name, uid: id('-u'), gid: id('-g') };
    } catch {
      // no such user
    }
  }
  throw new Error('running as root and there is neither a postgres nor a nobody user to run PostgreSQL as');
}

/**
 * A throwaway cluster: `initdb -A trust -U postgres` in a temp dir, started by `pg_ctl` on a free
 * port, listening on 127.0.0.1 only, its socket in the temp dir (not /var/run/postgresql, which
 * belongs to the shared server). fsync is off: nothing in it outlives the run. `pg_ctl` starts the
 * server in its own session, so a Ctrl-C meant for the tests does not kill it under them.
 */
export async function startPostgres(binDir: string): Promise<OwnService> {
  const [port] = await freePorts(1);
  const dir = mkdtempSync(join(tmpdir(), 'baton-test-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  const account = process.getuid?.() === 0 ? serverAccount() : undefined;
  if (account) chownSync(dir, account.uid, account.gid);
  // cwd is the temp dir: the server account may not be allowed into the caller's directory.
  const pg = (tool: string, args: string[]) =>
    account
      ? run('runuser', ['-u', account.name, '--', join(binDir, tool), ...args], dir, (POSTGRES_START_TIMEOUT_S + 10) * 1_000)
      : run(join(binDir, tool), args, dir, (POSTGRES_START_TIMEOUT_S + 10) * 1_000);
  let started = false;
  const stop = async () => {
    if (started) await pg('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
    started = true; // from here a half-started server is stopped too
    const server = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    await pg('pg_ctl', ['start', '-D', data, '-l', log, '-w', '-t', String(POSTGRES_START_TIMEOUT_S), '-o', server]).catch((err: Error) => {
      throw new Error(`${err.message}${tail(log) ? ` (log: ${tail(log)})` : ''}`);
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { port: port!, stop };
}

/** A throwaway redis-server, no persistence, on a free port of 127.0.0.1 (never `--port 0`: it would not tell us the port). */
export async function startRedis(): Promise<OwnService> {
  const [port] = await freePorts(1);
  const dir = mkdtempSync(join(tmpdir(), 'baton-test-redis-'));
  const log = join(dir, 'redis.log');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', log];
  // Its own process group: a Ctrl-C reaches ava, which then still needs Redis for its teardown.
  const child = spawn('redis-server', args, { cwd: dir, stdio: 'ignore', detached: true });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    await stopChild(child, exited);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    const deadline = Date.now() + REDIS_START_TIMEOUT_MS;
    while (!(await reachable({ host: '127.0.0.1', port: port! }))) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server exited with ${child.exitCode ?? child.signalCode}: ${tail(log)}`);
      if (Date.now() > deadline) throw new Error(`redis-server not listening on 127.0.0.1:${port} after ${REDIS_START_TIMEOUT_MS} ms: ${tail(log)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { port: port!, stop };
}

/** SIGTERM, then SIGKILL after a grace period. */
async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), REDIS_STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
