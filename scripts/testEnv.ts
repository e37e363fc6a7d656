/**
 * The pure half of `npm test` (scripts/test.ts): what the suite needs from the machine, how to tell
 * what is missing, and the command and environment ava runs with. Everything that touches the
 * machine comes in through a `Probe`, so the unit test can hand in a fake PATH.
 */
import { delimiter, join } from 'node:path';
import { DEFAULT_POSTGRES_URL, DEFAULT_REDIS_ADDR } from '../test/helpers/services.js';

/** The machine as the prerequisite check sees it. */
export interface Probe {
  /** The process's PATH. */
  path: string;
  /** Whether `file` is an executable file. */
  executable(file: string): boolean;
  /** Directories of installed PostgreSQL server binaries off PATH, newest version first (Debian: /usr/lib/postgresql/<major>/bin). */
  postgresBinDirs(): string[];
}

/** Something the suite needs that is not there, and the Debian package that provides it. */
export interface Missing {
  what: string;
  debianPackage: string;
}

/** Debian's Chromium, the only browser the status page test drives (test/e2e/statusPage.test.ts). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Commands every run needs, whatever the shared services: tests start their own redis-servers
 * (test/helpers/redisServer.ts) and etcd clusters (test/helpers/etcdCluster.ts, honouring
 * `BATON_TEST_ETCD_BIN`), and the Redis TLS test makes its certificates with openssl.
 */
function requiredCommands(env: NodeJS.ProcessEnv): { command: string; debianPackage: string }[] {
  return [
    { command: 'redis-server', debianPackage: 'redis-server' },
    { command: env.BATON_TEST_ETCD_BIN ?? 'etcd', debianPackage: 'etcd-server' },
    { command: 'openssl', debianPackage: 'openssl' },
  ];
}

/** `command`'s path: itself if it has a slash, else the first executable match on `probe.path`. */
export function which(command: string, probe: Probe): string | undefined {
  if (command.includes('/')) return probe.executable(command) ? command : undefined;
  for (const dir of probe.path.split(delimiter)) {
    if (dir === '') continue;
    const file = join(dir, command);
    if (probe.executable(file)) return file;
  }
  return undefined;
}

/** The directory holding both `initdb` and `pg_ctl`: PATH's if it has them (Debian's do not), else the newest installed version's. */
export function postgresBinDir(probe: Probe): string | undefined {
  const initdb = which('initdb', probe);
  if (initdb) {
    const dir = initdb.slice(0, initdb.lastIndexOf('/'));
    if (probe.executable(join(dir, 'pg_ctl'))) return dir;
  }
  return probe.postgresBinDirs().find((dir) => probe.executable(join(dir, 'initdb')) && probe.executable(join(dir, 'pg_ctl')));
}

/**
 * Everything missing for this run. PostgreSQL's server binaries only count when `ownPostgres`
 * (the shared server is down and the wrapper must start one): no test starts its own cluster.
 */
export function missingPrerequisites(probe: Probe, env: NodeJS.ProcessEnv, opts: { ownPostgres: boolean }): Missing[] {
  const missing: Missing[] = requiredCommands(env)
    .filter(({ command }) => which(command, probe) === undefined)
    .map(({ command, debianPackage }) => ({ what: command, debianPackage }));
  if (!probe.executable(CHROMIUM)) missing.push({ what: CHROMIUM, debianPackage: 'chromium' });
  if (opts.ownPostgres && postgresBinDir(probe) === undefined) missing.push({ what: 'initdb/pg_ctl', debianPackage: 'postgresql' });
  return missing;
}

/** The one line `npm test` stops with: `npm test: etcd, /usr/bin/chromium not found (apt-get install etcd-server chromium)`. */
export function missingLine(missing: Missing[]): string {
  const packages = [...new Set(missing.map((m) => m.debianPackage))];
  return `npm test: ${missing.map((m) => m.what).join(', ')} not found (apt-get install ${packages.join(' ')})`;
}

/** A TCP endpoint to probe. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * The PostgreSQL and Redis the tests will use unless the wrapper starts its own: the same
 * `BATON_TEST_POSTGRES_URL` / `BATON_TEST_REDIS_ADDR` the helpers read, with the same defaults,
 * so pointing them at a closed port is how to try the throwaway path by hand.
 */
export function sharedServices(env: NodeJS.ProcessEnv): { postgres: HostPort; redis: HostPort } {
  const pg = new URL(env.BATON_TEST_POSTGRES_URL ?? DEFAULT_POSTGRES_URL);
  const redisAddr = env.BATON_TEST_REDIS_ADDR ?? DEFAULT_REDIS_ADDR;
  const redis = /^rediss?:\/\//.test(redisAddr) ? new URL(redisAddr) : new URL(`redis://${redisAddr}`);
  return {
    postgres: { host: unbracket(pg.hostname) || '127.0.0.1', port: Number(pg.port || 5432) },
    redis: { host: unbracket(redis.hostname) || '127.0.0.1', port: Number(redis.port || 6379) },
  };
}

/** `[::1]` → `::1`, as `net.connect` wants it. */
function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Addresses of the services the wrapper started, to hand to the tests. */
export interface OwnServices {
  postgresPort?: number;
  redisPort?: number;
}

/** The tests' environment: the caller's, with `BATON_TEST_*` pointing at whatever the wrapper started. */
export function testEnvironment(env: NodeJS.ProcessEnv, own: OwnServices): NodeJS.ProcessEnv {
  return {
    ...env,
    ...(own.postgresPort === undefined ? {} : { BATON_TEST_POSTGRES_URL: `postgres://postgres@127.0.0.1:${own.postgresPort}/postgres` }),
    ...(own.redisPort === undefined ? {} : { BATON_TEST_REDIS_ADDR: `127.0.0.1:${own.redisPort}` }),
  };
}

/** ava's command line: its CLI under this Node, with every argument `npm test -- …` got, unchanged and in order. */
export function avaCommand(nodePath: string, avaCli: string, args: readonly string[]): { command: string; args: string[] } {
  return { command: nodePath, args: [avaCli, ...args] };
}
