/**
 * The option schema: the single source of flags, env vars, config-file keys, defaults, value
 * parsing and `--help`. The camelCase key names the `Config` field; the flag is its kebab-case
 * (`blockTime` → `--block-time`) and the env var its upper snake case with a `BATON_` prefix
 * (`BATON_BLOCK_TIME`), so the three can never drift apart.
 */

import { LEASE_BACKENDS } from '../adapters/lease/options.js';
import {
  bool,
  duration,
  ethAddress,
  hexBytes,
  hostPort,
  int,
  list,
  listenAddress,
  oneOf,
  type Parser,
  path,
  redisAddress,
  text,
  token,
  url,
} from './values.js';

export interface OptionSpec<T> {
  /** Value placeholder in `--help`, e.g. `<duration>` or `leader|member`. */
  kind: string;
  /** Why an operator would set it; shown in `--help`. */
  description: string;
  parse: Parser<T>;
  /** The default as a user would type it, parsed like any other source, so help shows it verbatim. */
  default?: string;
  /** `--help` text for a default computed from other options after parsing (see `config.ts`). */
  derived?: string;
  /** No default: the node refuses to start without it. */
  required?: true;
  /** Other flag names accepted for the same option (without `--`). */
  aliases?: readonly string[];
  /** Never echo the value, not even in an error message. */
  secret?: true;
}

const HTTP = ['http', 'https'] as const;

/** An enum option; generic in `spec` so a `default` or `required` stays visible to `ParsedOptions`. */
function choice<const C extends readonly string[], S extends Omit<OptionSpec<C[number]>, 'kind' | 'parse'>>(choices: C, spec: S) {
  return { kind: choices.join('|'), parse: oneOf(choices), ...spec };
}

/** Every option, in `--help` order. */
export const options = {
  config: {
    kind: '<file.json|yaml>',
    description: 'Config file: a JSON object or YAML mapping keyed by flag name (or camelCase). Flags and env vars override it.',
    parse: path,
  },
  role: choice(['leader', 'member'], {
    description: "leader: compete for the lease and build blocks; member: replay the leader's blocks and serve reads.",
    required: true,
    aliases: ['mode'],
  }),
  instanceId: {
    kind: '<id>',
    description: "This node's identity in the lease, Redis keys and logs; must be unique per node.",
    parse: token,
    derived: '<hostname>-<4 random hex>',
  },
  ethClientUrl: {
    kind: '<url>',
    description: 'Engine API URL of the execution client. Empty: start the embedded EL.',
    parse: url(HTTP),
  },
  ethRpcUrl: {
    kind: '<url>',
    description: 'Plain JSON-RPC URL of the execution client, for eth_ calls the engine port does not serve.',
    parse: url(HTTP),
  },
  elRpcPort: {
    kind: '<port>',
    description:
      "Port of the embedded EL's plain JSON-RPC on 127.0.0.1 (for cast, scripts, a second tool); 0 = a free port at each start. Baton's own /rpc is the endpoint for wallets.",
    parse: int({ min: 0, max: 65_535 }),
    default: '18545',
  },
  jwtSecret: {
    kind: '<hex32>',
    description: 'Engine API JWT secret (32 bytes hex). Prefer --jwt-secret-file: argv and env are visible to other users.',
    parse: hexBytes(32),
    secret: true,
  },
  jwtSecretFile: {
    kind: '<path>',
    description: "File holding the Engine API JWT secret (32 bytes hex), as Geth's --authrpc.jwtsecret.",
    parse: path,
  },
  genesis: {
    kind: '<path>',
    description: 'Geth genesis JSON for the embedded EL. Empty: the built-in dev genesis.',
    parse: path,
  },
  redisAddr: {
    kind: '<host:port|url>',
    description: 'Redis (host:port, redis:// or rediss://). Enables the Redis Stream, shared mempool and watcher.',
    parse: redisAddress,
  },
  redisPassword: {
    kind: '<string>',
    description: 'Redis AUTH password.',
    parse: text,
    secret: true,
  },
  redisTlsCaFile: {
    kind: '<path>',
    description: 'PEM CA that signed the Redis server certificate, for rediss:// (or Sentinels) with a private CA.',
    parse: path,
  },
  redisSentinels: {
    kind: '<host:port,...>',
    description: 'Redis Sentinels to ask for the master (instead of --redis-addr); Baton follows a Sentinel failover.',
    parse: list(hostPort),
  },
  redisSentinelName: {
    kind: '<name>',
    description: "The master's name in the Sentinels' configuration.",
    parse: token,
    default: 'mymaster',
  },
  redisPrefix: {
    kind: '<string>',
    description: 'Prefix of every Redis key, so several chains can share one Redis.',
    parse: token,
    default: 'consensus',
  },
  redisStream: {
    kind: '<string>',
    description: 'Redis Stream the leader appends committed blocks to.',
    parse: token,
    derived: '<redis-prefix>:blocks',
  },
  redisStreamMaxlen: {
    kind: '<int>',
    description: 'Approximate cap (XADD MAXLEN ~) on stream entries; older blocks stay in PostgreSQL.',
    parse: int({ min: 1 }),
    default: '100000',
  },
  mempoolBatchSize: {
    kind: '<int>',
    description:
      'Transactions the leader moves from the shared mempool into its EL before each block (needs --redis-addr). The embedded EL builds slowly past ~100 transactions a block; Geth takes thousands.',
    parse: int({ min: 1 }),
    default: '100',
  },
  mempoolMaxPending: {
    kind: '<int>',
    description: "Bound of the shared mempool's pending set; past it eth_sendRawTransaction refuses (nothing is evicted).",
    parse: int({ min: 1 }),
    default: '100000',
  },
  mempoolMaxNonConfirmations: {
    kind: '<int>',
    description: 'Committed blocks an inflight transaction may be missing from before it goes back to pending (or is dropped if the EL refuses it).',
    parse: int({ min: 1 }),
    default: '10',
  },
  mempoolMaxFinalized: {
    kind: '<int>',
    description: 'How many finalized (and, separately, dropped) transactions the mempool remembers for status queries.',
    parse: int({ min: 1 }),
    default: '10000',
  },
  mempoolMaxPerSender: {
    kind: '<int>',
    description: "Bound of one sender's held (pending, queued, inflight) transactions; past it eth_sendRawTransaction refuses with 'account limit exceeded'.",
    parse: int({ min: 1 }),
    default: '1000',
  },
  mempoolMaxQueued: {
    kind: '<int>',
    description: 'Bound of the queued set (transactions behind a nonce gap of their sender); a gapped transaction found past it is dropped.',
    parse: int({ min: 1 }),
    default: '10000',
  },
  mempoolLifetime: {
    kind: '<duration>',
    description: "How long a transaction may wait queued behind a nonce gap before it is dropped as expired (Geth's txpool.lifetime).",
    parse: duration({ minMs: 1 }),
    default: '3h',
  },
  mempoolWatcherLockTtl: {
    kind: '<duration>',
    description: 'TTL of the mempool watcher lock: a dead watcher delays confirmations by at most this long.',
    parse: duration({ minMs: 1 }),
    default: '10s',
  },
  postgresUrl: {
    kind: '<url>',
    description: 'PostgreSQL URL. Empty: embedded PGlite in --data-dir.',
    parse: url(['postgres', 'postgresql']),
  },
  leaseBackend: choice(LEASE_BACKENDS, {
    description: 'Where leadership is decided (DESIGN §3).',
    derived: 'redis when --redis-addr is set, else file',
  }),
  leaseTtl: {
    kind: '<duration>',
    description: 'Lease time to live: a dead leader is replaced after at most this long.',
    parse: duration({ minMs: 1 }),
    default: '2s',
  },
  etcdEndpoints: {
    kind: '<url,...>',
    description: 'etcd endpoints for --lease-backend etcd.',
    parse: list(url(HTTP)),
    default: 'http://127.0.0.1:2379',
  },
  healthInterval: {
    kind: '<duration>',
    description: "How often the HealthMonitor probes the lease backend, the EL and the database, and publishes this node's health record.",
    parse: duration({ minMs: 50 }),
    default: '1s',
  },
  healthElFailures: {
    kind: '<int>',
    description:
      "Consecutive failed EL calls (probes or the Builder's Engine API calls) after which the EL counts as unreachable: the leader hands over to a ready standby.",
    parse: int({ min: 1 }),
    default: '2',
  },
  healthMaxBlockGap: {
    kind: '<int>',
    description: 'Block times a leader may go without committing a block before it counts as unhealthy (a stuck build, an unreachable database).',
    parse: int({ min: 1 }),
    default: '3',
  },
  healthProductionFailures: {
    kind: '<int>',
    description: 'Consecutive failed builds or commits after which a leader counts as unhealthy.',
    parse: int({ min: 1 }),
    default: '3',
  },
  healthMinTerm: {
    kind: '<duration>',
    description: 'A leader steps down for health no sooner than this after its term began, so two sick nodes do not trade the lease back and forth.',
    parse: duration({ minMs: 0 }),
    default: '5s',
  },
  healthHoldOff: {
    kind: '<duration>',
    description: 'After stepping down for health a node does not campaign for this long, and not until its HealthMonitor finds it ready again.',
    parse: duration({ minMs: 0 }),
    default: '10s',
  },
  blockTime: {
    kind: '<duration>',
    description: 'Time between blocks: the Builder waits this long between forkchoiceUpdated and getPayload.',
    parse: duration({ minMs: 1 }),
    default: '1s',
  },
  dataDir: {
    kind: '<path>',
    description: 'Directory for the embedded EL, PGlite, the file lease and the generated JWT secret.',
    parse: path,
    default: './.baton',
  },
  healthAddr: {
    kind: '<host:port>',
    description: 'Listen address of GET /health and GET /metrics (:port = all interfaces, port 0 = any free port).',
    parse: listenAddress,
    default: ':8080',
  },
  apiAddr: {
    kind: '<host:port>',
    description: 'Listen address of the block API, WebSocket feed and JSON-RPC.',
    parse: listenAddress,
    default: ':8090',
  },
  advertiseUrl: {
    kind: '<url>',
    description: "URL other nodes use to reach this node's API; published with the lease.",
    parse: url(HTTP),
    derived: 'http://<api-addr host, or 127.0.0.1>:<api-addr port>',
  },
  feedMaxSubscribers: {
    kind: '<int>',
    description: 'Open WebSocket feed connections allowed; further upgrades get HTTP 503 (each costs a socket and its send buffer).',
    parse: int({ min: 1 }),
    default: '10000',
  },
  adminToken: {
    kind: '<string>',
    description:
      'Bearer token for the admin JSON-RPC methods on /rpc (baton_leader, baton_pause, baton_resume, baton_transferLeadership); one per cluster. Empty: admin methods are off.',
    parse: text,
    secret: true,
  },
  leaderUrl: {
    kind: '<url>',
    description: 'Members: follow this API URL instead of the one the lease advertises.',
    parse: url(HTTP),
  },
  feeRecipient: {
    kind: '<address>',
    description: 'Address credited with the priority fees of built blocks.',
    parse: ethAddress,
    default: '0x0000000000000000000000000000000000000000',
  },
  chaos: {
    kind: '<bool>',
    description: 'Enable crash injection (staging and tests only).',
    parse: bool,
    default: 'false',
  },
  logLevel: choice(['trace', 'debug', 'info', 'warn', 'error'], {
    description: 'Minimum log level.',
    default: 'info',
  }),
} satisfies Record<string, OptionSpec<unknown>>;

/** An option's camelCase key, which is also its field in `Config`. */
export type OptionKey = keyof typeof options;

/** The parsed value of one option: optional unless it has a default or is required. */
type ValueOf<O> = O extends OptionSpec<infer T> ? (O extends { default: string } | { required: true } ? T : T | undefined) : never;

/** Every option as parsed, before derived defaults are filled in. */
export type ParsedOptions = { [K in OptionKey]: ValueOf<(typeof options)[K]> };

/** `blockTime` → `block-time`: the flag and config-file key are derived, never written twice. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `blockTime` → `BATON_BLOCK_TIME`: one prefix keeps Baton's variables apart from the EL's and the OS's. */
export function envName(key: string): string {
  return `BATON_${flagName(key).replace(/-/g, '_').toUpperCase()}`;
}
