/**
 * Builds the node's `Config` from argv, env and an optional config file, driven entirely by the
 * schema in `options.ts`. Precedence, per option: `--flag` > `BATON_*` env var > `--config` file >
 * default. Only the winning value is parsed, so a bad value that is overridden does not stop the
 * node; a bad winning value or an unknown flag throws a `ConfigError` naming the key and source.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import type { LeaseBackendName } from '../adapters/lease/options.js';
import { localUrl } from '../node/options.js';
import { ConfigError, type ConfigSource } from './errors.js';
import { envName, flagName, type OptionKey, type OptionSpec, options, type ParsedOptions } from './options.js';
import { bool, hexBytes, InvalidValue } from './values.js';

/** The node's configuration: every option parsed, derived defaults filled in. */
export type Config = Omit<ParsedOptions, 'instanceId' | 'redisStream' | 'leaseBackend' | 'jwtSecret'> & {
  instanceId: string;
  redisStream: string;
  leaseBackend: LeaseBackendName;
  /** From `--jwt-secret` or the contents of `--jwt-secret-file`; undefined when neither is set. */
  jwtSecret: Uint8Array | undefined;
  /**
   * Undefined only when `--api-addr` has port 0 and no `--advertise-url` was given: the real port
   * is known after listening, so the node derives it then (`localUrl`).
   */
  advertiseUrl: string | undefined;
};

/** `--help` or `-h` was given: the caller prints `helpText()` and exits 0. */
export interface HelpRequest {
  help: true;
}

/** One raw value and where it came from; `label` is the key as that source spells it. */
interface RawValue {
  raw: string;
  source: ConfigSource;
  label: string;
}

const specs = Object.entries(options) as [OptionKey, OptionSpec<unknown>][];
const specOf = (key: OptionKey): OptionSpec<unknown> => options[key];

/** Flag names and aliases, and for config files also camelCase keys, to the option key. */
const byFlag = new Map<string, OptionKey>(specs.flatMap(([key, s]) => [flagName(key), ...(s.aliases ?? [])].map((n) => [n, key] as const)));
const byFileKey = new Map<string, OptionKey>([...byFlag, ...specs.map(([key]) => [key, key] as const)]);

function readArgv(argv: readonly string[]): Map<OptionKey, RawValue> {
  const out = new Map<OptionKey, RawValue>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([^=]+)(?:=([\s\S]*))?$/.exec(arg);
    if (!m) throw new ConfigError(`${JSON.stringify(arg)}: unexpected argument, options start with -- (flag)`, { key: arg, source: 'flag' });
    const label = `--${m[1]}`;
    const key = byFlag.get(m[1]!);
    if (key === undefined) throw new ConfigError(`${label}: unknown option (flag)`, { key: label, source: 'flag' });
    // Every option takes one value (lists are comma-separated): a second one is a mistake, not an override.
    const earlier = out.get(key);
    if (earlier)
      throw new ConfigError(
        `${label}: given twice (as ${earlier.label} ${specOf(key).secret ? '<redacted>' : JSON.stringify(earlier.raw)} before); give each option once (flag)`,
        { key, source: 'flag' },
      );
    let raw = m[2];
    if (raw === undefined && specOf(key).parse === bool) raw = 'true';
    if (raw === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new ConfigError(`${label}: missing value (flag)`, { key, source: 'flag' });
      raw = next;
      i++;
    }
    out.set(key, { raw, source: 'flag', label });
  }
  return out;
}

function readEnv(env: NodeJS.ProcessEnv): Map<OptionKey, RawValue> {
  const out = new Map<OptionKey, RawValue>();
  for (const [key] of specs) {
    const raw = env[envName(key)];
    if (raw !== undefined) out.set(key, { raw, source: 'env', label: envName(key) });
  }
  return out;
}

/** A JSON or YAML (`.yaml`/`.yml`) object keyed by flag name or camelCase key; scalars are stringified, arrays comma-joined. */
function readConfigFile(path: RawValue): Map<OptionKey, RawValue> {
  const fail = (problem: string): never => {
    throw new ConfigError(`${path.label}: ${JSON.stringify(path.raw)} ${problem} (${path.source})`, { key: 'config', source: path.source });
  };
  const isYaml = /\.ya?ml$/i.test(path.raw);
  let text = '';
  try {
    text = readFileSync(path.raw, 'utf8');
  } catch (err) {
    fail(`cannot be read: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = isYaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    fail(`is not valid ${isYaml ? 'YAML' : 'JSON'}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail(`must hold a ${isYaml ? 'YAML mapping' : 'JSON object'}`);
  const source: ConfigSource = `file ${path.raw}`;
  const out = new Map<OptionKey, RawValue>();
  for (const [label, value] of Object.entries(doc as Record<string, unknown>)) {
    const key = byFileKey.get(label);
    const bad = (problem: string) => new ConfigError(`${label}: ${problem} (${source})`, { key: label, source });
    if (key === undefined) throw bad('unknown option');
    if (key === 'config') throw bad('cannot be set in a config file');
    const scalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
    if (!(scalar(value) || (Array.isArray(value) && value.every(scalar)))) throw bad('must be a string, number, boolean or array of those');
    out.set(key, { raw: Array.isArray(value) ? value.join(',') : String(value), source, label });
  }
  return out;
}

function invalid(value: RawValue, key: OptionKey, problem: string): ConfigError {
  const shown = specOf(key).secret ? '<redacted>' : JSON.stringify(value.raw);
  return new ConfigError(`${value.label}: ${shown} ${problem} (${value.source})`, { key, source: value.source });
}

/** An empty value unsets an option without a default (e.g. `BATON_POSTGRES_URL=` → embedded PGlite). */
function parseValue(key: OptionKey, value: RawValue): unknown {
  const spec = specOf(key);
  if (value.raw === '' && spec.default === undefined && !spec.required) return undefined;
  try {
    return spec.parse(value.raw);
  } catch (err) {
    if (err instanceof InvalidValue) throw invalid(value, key, err.message);
    throw err;
  }
}

/** Parses argv (without the node and script paths) and env into a `Config`, or a help request. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config | HelpRequest {
  if (argv.includes('--help') || argv.includes('-h')) return { help: true };
  const flags = readArgv(argv);
  const fromEnv = readEnv(env);
  const configPath = flags.get('config') ?? fromEnv.get('config');
  const file = configPath && configPath.raw !== '' ? readConfigFile(configPath) : new Map<OptionKey, RawValue>();
  const winners = new Map<OptionKey, RawValue>();
  const parsed: Record<string, unknown> = {};
  for (const [key, spec] of specs) {
    const fallback = spec.default === undefined ? undefined : { raw: spec.default, source: 'default' as const, label: `--${flagName(key)}` };
    const value = flags.get(key) ?? fromEnv.get(key) ?? file.get(key) ?? fallback;
    if (value) winners.set(key, value);
    parsed[key] = value && parseValue(key, value);
    if (parsed[key] === undefined && spec.required) {
      throw new ConfigError(`--${flagName(key)} is required (${spec.kind}): set the flag, ${envName(key)} or "${flagName(key)}" in the config file`, { key });
    }
  }
  return resolve(parsed as ParsedOptions, winners);
}

/** Fills the defaults that depend on other options and checks combinations of options. */
function resolve(o: ParsedOptions, winners: Map<OptionKey, RawValue>): Config {
  const hasRedis = Boolean(o.redisAddr || o.redisSentinels);
  const leaseBackend = o.leaseBackend ?? (hasRedis ? 'redis' : 'file');
  const leaseSource = winners.get('leaseBackend');
  if (leaseBackend === 'redis' && !hasRedis && leaseSource) throw invalid(leaseSource, 'leaseBackend', 'needs --redis-addr or --redis-sentinels');
  // Embedded PGlite serves one connection, which the block store holds: the lease needs a server of its own.
  if (leaseBackend === 'postgres' && !o.postgresUrl && leaseSource) throw invalid(leaseSource, 'leaseBackend', 'needs a PostgreSQL server (--postgres-url)');
  let jwtSecret = o.jwtSecret;
  const jwtFile = winners.get('jwtSecretFile');
  if (o.jwtSecretFile !== undefined && jwtFile) {
    if (jwtSecret) throw invalid(jwtFile, 'jwtSecretFile', 'cannot be combined with --jwt-secret');
    let contents: string;
    try {
      contents = readFileSync(o.jwtSecretFile, 'utf8');
    } catch (err) {
      throw invalid(jwtFile, 'jwtSecretFile', `cannot be read: ${(err as Error).message}`);
    }
    try {
      jwtSecret = hexBytes(32)(contents);
    } catch {
      throw invalid(jwtFile, 'jwtSecretFile', 'does not hold 32 bytes of hex');
    }
  }
  return {
    ...o,
    instanceId: o.instanceId ?? `${hostname()}-${randomBytes(2).toString('hex')}`,
    redisStream: o.redisStream ?? `${o.redisPrefix}:blocks`,
    leaseBackend,
    jwtSecret,
    advertiseUrl: o.advertiseUrl ?? (o.apiAddr.port === 0 ? undefined : localUrl(o.apiAddr, o.apiAddr.port)),
  };
}

/** `--help`, generated from the schema so every option, env var and default is listed. */
export function helpText(): string {
  const lines = [
    'Usage: baton --role leader|member [options]',
    '',
    'Each option is taken from, in order: --flag, its BATON_* env var, the --config file, the default.',
    'An empty value unsets an option that has no default. Durations: 500ms, 2s, 1m, 1h or milliseconds.',
    '',
    'Options:',
  ];
  for (const [key, spec] of specs) {
    const names = [flagName(key), ...(spec.aliases ?? [])].map((n) => `--${n}`).join(', ');
    const dflt = spec.required ? 'required' : spec.default !== undefined ? `default ${spec.default}` : `default ${spec.derived ?? 'unset'}`;
    lines.push(`  ${names} ${spec.kind}`, `      ${spec.description}`, `      env ${envName(key)}; ${dflt}`);
  }
  lines.push('  --help, -h', '      Print this help and exit.');
  return lines.join('\n');
}

/** For `main`: a ConfigError becomes one line on stderr and exit code 2 (usage); anything else is rethrown. */
export function exitOnConfigError(err: unknown): never {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`baton: ${err.message}\n`);
  process.exit(2);
}
