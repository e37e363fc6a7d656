import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { type Config, exitOnConfigError, helpText, parseConfig } from '../../../src/cli/config.js';
import { ConfigError } from '../../../src/cli/errors.js';
import { envName, flagName, options } from '../../../src/cli/options.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-config-'));
let files = 0;

/** Writes `content` (an object is JSON-encoded) to a fresh file and returns its path. */
function file(content: unknown, ext = 'json'): string {
  const path = join(dir, `f${files++}.${ext}`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function config(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const c = parseConfig(argv, env);
  if ('help' in c) throw new Error('unexpected help request');
  return c;
}

function configError(argv: string[], env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    parseConfig(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`no ConfigError for ${JSON.stringify({ argv, env })}`);
}

test('defaults fill every option that has one, derived ones included', (t) => {
  const c = config(['--role', 'leader']);
  const role: 'leader' | 'member' = c.role;
  const postgresUrl: string | undefined = c.postgresUrl;
  t.is(role, 'leader');
  t.is(postgresUrl, undefined);
  t.is(c.ethClientUrl, undefined);
  t.is(c.blockTime, 1000);
  t.is(c.leaseTtl, 2000);
  t.is(c.redisPrefix, 'consensus');
  t.is(c.redisStream, 'consensus:blocks');
  t.is(c.redisStreamMaxlen, 100_000);
  t.is(c.leaseBackend, 'file');
  t.deepEqual(c.healthAddr, { host: '', port: 8080 });
  t.deepEqual(c.apiAddr, { host: '', port: 8090 });
  t.is(c.advertiseUrl, 'http://127.0.0.1:8090');
  t.is(c.feeRecipient, '0x0000000000000000000000000000000000000000');
  t.is(c.chaos, false);
  t.is(c.logLevel, 'info');
  t.is(c.dataDir, resolve('.baton'), 'absolute: the embedded EL runs in another working directory');
  t.deepEqual(c.etcdEndpoints, ['http://127.0.0.1:2379']);
  t.regex(c.instanceId, new RegExp(`^${hostname().replace(/\./g, '\\.')}-[0-9a-f]{4}$`));
});

test('precedence: flag over env over config file over default', (t) => {
  const path = file({ 'block-time': '3s', 'log-level': 'debug' });
  const env = { BATON_BLOCK_TIME: '2s', BATON_CONFIG: path };
  t.is(config(['--role=leader', '--block-time', '500ms'], env).blockTime, 500);
  t.is(config(['--role=leader'], env).blockTime, 2000);
  t.is(config(['--role=leader', '--config', path]).blockTime, 3000);
  t.is(config(['--role=leader']).blockTime, 1000);
  t.is(config(['--role=leader'], env).logLevel, 'debug', 'a file value applies when neither flag nor env sets it');
  t.is(config(['--role=leader', '--config', file({})], env).logLevel, 'info', '--config flag overrides BATON_CONFIG');
});

test('an overridden bad value is not parsed; the winning one is', (t) => {
  t.is(config(['--role=leader', '--block-time=2s'], { BATON_BLOCK_TIME: 'garbage' }).blockTime, 2000);
});

test('durations accept ms, s, m, h and plain milliseconds', (t) => {
  const cases: [string, number][] = [
    ['500ms', 500],
    ['2s', 2000],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['750', 750],
  ];
  for (const [raw, ms] of cases) t.is(config(['--role=leader', `--lease-ttl=${raw}`]).leaseTtl, ms, raw);
});

/** One bad value per value type: the option, the value, and what the message must say. */
const badValues: [key: keyof typeof options, raw: string, problem: string][] = [
  ['blockTime', 'abc', 'is not a duration'],
  ['blockTime', '1.5s', 'is not a duration'],
  ['leaseTtl', '0', 'is shorter than 1ms'],
  ['redisStreamMaxlen', 'abc', 'is not an integer'],
  ['redisStreamMaxlen', '0', 'is out of range'],
  ['chaos', 'maybe', 'is not a boolean'],
  ['logLevel', 'loud', 'is not one of trace|debug|info|warn|error'],
  ['role', 'boss', 'is not one of leader|member'],
  ['leaseBackend', 'zookeeper', 'is not one of redis|postgres|etcd|kubernetes|file'],
  ['etcdEndpoints', 'http://a:2379,nope', 'item 2 ("nope") is not a URL'],
  ['ethClientUrl', 'not a url', 'is not a URL'],
  ['postgresUrl', 'http://db:5432/x', 'must use postgres:// or postgresql://'],
  ['apiAddr', '8090', 'is not an address'],
  ['healthAddr', ':70000', 'is not an address'],
  ['redisAddr', 'localhost', 'is not an address'],
  ['redisAddr', ':6379', 'is not a Redis address'],
  ['feeRecipient', '0x1234', 'is not a 20-byte 0x-prefixed hex address'],
  ['instanceId', 'node 1', 'must be non-empty'],
  ['dataDir', '', 'is not a path'],
];

test('a bad value of every type names the key, the value and the source', (t) => {
  for (const [key, raw, problem] of badValues) {
    const base = key === 'role' ? [] : ['--role=leader'];
    const flag = configError([...base, `--${flagName(key)}=${raw}`]);
    t.true(flag.message.startsWith(`--${flagName(key)}: ${JSON.stringify(raw)} ${problem}`) && flag.message.endsWith('(flag)'), flag.message);
    t.is(flag.code, 'CONFIG_INVALID');
    t.like(flag.meta, { key, source: 'flag' });

    const env = configError(base, { [envName(key)]: raw });
    t.true(env.message.startsWith(`${envName(key)}: ${JSON.stringify(raw)} ${problem}`) && env.message.endsWith('(env)'), env.message);

    const path = file({ [flagName(key)]: raw });
    const fromFile = configError([...base, '--config', path]);
    t.true(fromFile.message.startsWith(`${flagName(key)}: ${JSON.stringify(raw)} ${problem}`) && fromFile.message.endsWith(`(file ${path})`), fromFile.message);
  }
});

test("a secret's bad value is redacted from the message", (t) => {
  const err = configError(['--role=leader', '--jwt-secret=deadbeef']);
  t.is(err.message, '--jwt-secret: <redacted> is not 32 bytes of hex (flag)');
});

test('unknown flags, stray arguments and missing values are rejected by name', (t) => {
  t.is(configError(['--role=leader', '--blok-time=1s']).message, '--blok-time: unknown option (flag)');
  t.is(configError(['--role=leader', '--blok-time', '1s']).message, '--blok-time: unknown option (flag)');
  t.is(configError(['leader']).message, '"leader": unexpected argument, options start with -- (flag)');
  t.is(configError(['--role=leader', '--block-time']).message, '--block-time: missing value (flag)');
  t.is(configError(['--role', '--chaos']).message, '--role: missing value (flag)');
});

test('a flag given twice is refused, aliases included, and a secret stays redacted', (t) => {
  t.is(configError(['--role', 'leader', '--role', 'member']).message, '--role: given twice (as --role "leader" before); give each option once (flag)');
  t.is(configError(['--role=leader', '--mode=member']).message, '--mode: given twice (as --role "leader" before); give each option once (flag)');
  t.is(
    configError(['--role=leader', '--block-time=1s', '--block-time=2s']).message,
    '--block-time: given twice (as --block-time "1s" before); give each option once (flag)',
  );
  const secret = configError(['--role=leader', `--jwt-secret=${'ab'.repeat(32)}`, `--jwt-secret=${'cd'.repeat(32)}`]).message;
  t.is(secret, '--jwt-secret: given twice (as --jwt-secret <redacted> before); give each option once (flag)');
});

test('paths are made absolute against the working directory, from every source', (t) => {
  t.is(config(['--role=leader', '--data-dir=nodes/a']).dataDir, resolve('nodes/a'));
  t.is(config(['--role=leader'], { BATON_DATA_DIR: './b' }).dataDir, resolve('b'));
  t.is(config(['--role=leader', '--data-dir=/var/lib/baton']).dataDir, '/var/lib/baton');
});

test('config file: unknown keys, nested values, --config inside it and invalid JSON or YAML are rejected', (t) => {
  const unknown = file({ 'blok-time': '1s' });
  t.is(configError(['--role=leader', `--config=${unknown}`]).message, `blok-time: unknown option (file ${unknown})`);
  const nested = file({ 'api-addr': { port: 1 } });
  t.is(configError(['--role=leader', `--config=${nested}`]).message, `api-addr: must be a string, number, boolean or array of those (file ${nested})`);
  const recursive = file({ config: 'x.json' });
  t.is(configError(['--role=leader', `--config=${recursive}`]).message, `config: cannot be set in a config file (file ${recursive})`);
  const broken = file('{not json');
  t.regex(configError(['--role=leader', `--config=${broken}`]).message, /^--config: ".*" is not valid JSON: .* \(flag\)$/);
  const badYaml = file('role: [leader\n', 'yaml');
  t.regex(configError(['--role=leader'], { BATON_CONFIG: badYaml }).message, /^BATON_CONFIG: ".*\.yaml" is not valid YAML: .*\(env\)$/);
  const list = file('- role\n', 'yml');
  t.regex(configError([`--config=${list}`]).message, /must hold a YAML mapping \(flag\)$/);
  t.regex(
    configError(['--role=leader', '--config=/nonexistent/baton.json']).message,
    /^--config: "\/nonexistent\/baton.json" cannot be read: ENOENT.*\(flag\)$/,
  );
});

test('config file in YAML: the same keys and values as JSON', (t) => {
  const path = file('role: member\nblock-time: 2s\nredisStreamMaxlen: 7\nchaos: true\netcd-endpoints:\n  - http://e1:2379\n  - http://e2:2379\n', 'yaml');
  const c = config(['--config', path]);
  t.is(c.role, 'member');
  t.is(c.blockTime, 2000);
  t.is(c.redisStreamMaxlen, 7);
  t.true(c.chaos);
  t.deepEqual(c.etcdEndpoints, ['http://e1:2379', 'http://e2:2379']);
  t.is(config(['--config', path, '--block-time', '3s']).blockTime, 3000, 'flags still win over the file');
});

test('config file: camelCase keys, numbers, booleans and arrays', (t) => {
  const path = file({ role: 'member', redisStreamMaxlen: 5, chaos: true, 'etcd-endpoints': ['http://e1:2379', 'http://e2:2379'], leaseTtl: 1500 });
  const c = config(['--config', path]);
  t.is(c.role, 'member');
  t.is(c.redisStreamMaxlen, 5);
  t.is(c.chaos, true);
  t.deepEqual(c.etcdEndpoints, ['http://e1:2379', 'http://e2:2379']);
  t.is(c.leaseTtl, 1500);
  t.is(c.config, path);
});

test('--mode is an alias of --role, and --role is required', (t) => {
  t.is(config(['--mode', 'member']).role, 'member');
  t.is(config(['--mode=leader']).role, 'leader');
  t.is(config([], { BATON_ROLE: 'member' }).role, 'member');
  t.is(configError([]).message, '--role is required (leader|member): set the flag, BATON_ROLE or "role" in the config file');
});

test('booleans: bare flag, =false, env 1, and a bare flag does not swallow the next one', (t) => {
  t.true(config(['--role=leader', '--chaos']).chaos);
  t.false(config(['--role=leader', '--chaos=false']).chaos);
  t.true(config(['--role=leader'], { BATON_CHAOS: '1' }).chaos);
  t.false(config(['--role=leader', '--chaos=false'], { BATON_CHAOS: '1' }).chaos);
  const c = config(['--chaos', '--role', 'member']);
  t.true(c.chaos);
  t.is(c.role, 'member');
});

test('an empty value unsets an optional option, even over the config file', (t) => {
  const path = file({ 'postgres-url': 'postgres://db/x' });
  t.is(config(['--role=leader', '--config', path]).postgresUrl, 'postgres://db/x');
  t.is(config(['--role=leader', '--config', path], { BATON_POSTGRES_URL: '' }).postgresUrl, undefined);
  t.is(config(['--role=leader', '--config', path, '--postgres-url=']).postgresUrl, undefined);
});

test('derived defaults: lease backend, stream name, advertise URL', (t) => {
  const redis = config(['--role=leader', '--redis-addr', 'localhost:6379', '--redis-prefix', 'chain7']);
  t.is(redis.redisAddr, 'redis://localhost:6379');
  t.is(redis.leaseBackend, 'redis');
  t.is(redis.redisStream, 'chain7:blocks');
  t.is(config(['--role=leader', '--redis-addr=rediss://u:p@r:6380/0']).redisAddr, 'rediss://u:p@r:6380/0');
  t.is(config(['--role=leader', '--redis-addr=r:1', '--postgres-url=postgres://h/db', '--lease-backend=postgres']).leaseBackend, 'postgres');
  t.is(
    configError(['--role=leader', '--lease-backend=postgres']).message,
    '--lease-backend: "postgres" needs a PostgreSQL server (--postgres-url) (flag)',
    "embedded PGlite serves only the block store's connection",
  );
  t.is(config(['--role=leader', '--redis-stream=s']).redisStream, 's');
  t.is(configError(['--role=leader'], { BATON_LEASE_BACKEND: 'redis' }).message, 'BATON_LEASE_BACKEND: "redis" needs --redis-addr or --redis-sentinels (env)');

  t.is(config(['--role=leader', '--api-addr=:0']).advertiseUrl, undefined, 'port 0: known only after listening');
  t.deepEqual(config(['--role=leader', '--api-addr=:0']).apiAddr, { host: '', port: 0 });
  t.is(config(['--role=leader', '--api-addr=10.1.2.3:9000']).advertiseUrl, 'http://10.1.2.3:9000');
  t.deepEqual(config(['--role=leader', '--api-addr=[::1]:9000']).apiAddr, { host: '::1', port: 9000 });
  t.is(config(['--role=leader', '--api-addr=[::1]:9000']).advertiseUrl, 'http://[::1]:9000');
  t.is(config(['--role=leader', '--advertise-url=http://node1:8090']).advertiseUrl, 'http://node1:8090');
});

test('JWT secret from the flag or the file, not both', (t) => {
  const hex = 'ab'.repeat(32);
  t.deepEqual(config(['--role=leader', `--jwt-secret=0x${hex}`]).jwtSecret, Uint8Array.from(Buffer.from(hex, 'hex')));
  const path = file(`0x${hex}\n`, 'hex');
  t.deepEqual(config(['--role=leader', '--jwt-secret-file', path]).jwtSecret, Uint8Array.from(Buffer.from(hex, 'hex')));
  t.is(config(['--role=leader']).jwtSecret, undefined);
  t.is(
    configError(['--role=leader', `--jwt-secret=${hex}`], { BATON_JWT_SECRET_FILE: path }).message,
    `BATON_JWT_SECRET_FILE: ${JSON.stringify(path)} cannot be combined with --jwt-secret (env)`,
  );
  const bad = file('not hex', 'hex');
  t.is(configError(['--role=leader', `--jwt-secret-file=${bad}`]).message, `--jwt-secret-file: ${JSON.stringify(bad)} does not hold 32 bytes of hex (flag)`);
});

test('--help and -h return a help request, even next to bad flags', (t) => {
  t.deepEqual(parseConfig(['--help'], {}), { help: true });
  t.deepEqual(parseConfig(['--bogus', '-h'], {}), { help: true });
});

test('help text lists every option of the schema with its env var and default', (t) => {
  const help = helpText();
  for (const [key, spec] of Object.entries(options)) {
    t.true(help.includes(`--${flagName(key)}`), `flag of ${key}`);
    t.true(help.includes(envName(key)), `env of ${key}`);
    t.true(help.includes(spec.description), `description of ${key}`);
    if ('default' in spec) t.true(help.includes(`default ${spec.default}`), `default of ${key}`);
  }
  t.true(help.includes('--role, --mode leader|member'));
  t.true(help.includes('default <redis-prefix>:blocks'));
});

test('exitOnConfigError prints one line and exits 2; other errors are rethrown', async (t) => {
  const script = `import { parseConfig, exitOnConfigError } from "./src/cli/config.ts";
try { parseConfig(["--role=leader", "--block-time=abc"], {}); } catch (err) { exitOnConfigError(err); }`;
  const run = promisify(execFile)(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { cwd: process.cwd() });
  const err = await t.throwsAsync(run);
  const { code, stderr } = err as unknown as { code: number; stderr: string };
  t.is(code, 2);
  t.is(stderr, 'baton: --block-time: "abc" is not a duration (use e.g. 500ms, 2s, 1m, or an integer of milliseconds) (flag)\n');
  const other = new Error('boom');
  t.is(
    t.throws(() => exitOnConfigError(other)),
    other,
  );
});

test('Redis Sentinels: a host:port list that makes redis the default lease backend; a bad item names the flag', (t) => {
  const c = config(['--role=leader', '--redis-sentinels', '10.0.0.1:26379, 10.0.0.2:26379']);
  t.deepEqual(c.redisSentinels, ['10.0.0.1:26379', '10.0.0.2:26379']);
  t.is(c.redisSentinelName, 'mymaster');
  t.is(c.leaseBackend, 'redis');
  t.regex(configError(['--role=leader', '--redis-sentinels', '10.0.0.1']).message, /^--redis-sentinels: .*item 1 \("10\.0\.0\.1"\).* \(flag\)$/);
});
