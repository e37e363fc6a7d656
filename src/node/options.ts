/**
 * What a node is started with (`cli` maps its flags to this), and every timing the node derives
 * from it, each number with the reason it has that value.
 */
import type { ListenAddress } from '../adapters/http/options.js';
import type { LeaseBackendName } from '../adapters/lease/options.js';
import type { MempoolOptions } from '../adapters/mempool/options.js';
import type { RedisConnectionOptions } from '../adapters/redis/connection.js';

export interface NodeOptions {
  role: 'leader' | 'member';
  instanceId: string;
  /** Held by this node alone: the embedded EL, PGlite and the file lease live here. */
  dataDir: string;
  healthAddr: ListenAddress;
  apiAddr: ListenAddress;
  /** Published with the lease; derived from `apiAddr` once it listens when unset. */
  advertiseUrl?: string;
  /** An external EL (its Engine API URL and JWT secret), or the embedded one when `url` is unset. */
  executionClient: {
    url?: string;
    rpcUrl?: string;
    jwtSecret?: Uint8Array;
    genesisPath?: string;
    /** The embedded EL's plain JSON-RPC port (`--el-rpc-port`); 0 or unset: a free port at each start. */
    embeddedRpcPort?: number;
  };
  /** A PostgreSQL server, or embedded PGlite in the data dir when unset. */
  postgresUrl?: string;
  /** Redis (the Stream, the shared mempool and its watcher), off when unset. */
  redis?: RedisConnectionOptions & { prefix: string; stream: string; streamMaxLen: number };
  lease: { backend: LeaseBackendName; ttlMs: number; etcdEndpoints: string[]; redisPrefix: string };
  blockTimeMs: number;
  /** The HealthMonitor's probe period and thresholds (`--health-*`). */
  health: { intervalMs: number; elFailures: number; maxBlockGapBlocks: number; productionFailures: number; minTermMs: number; holdOffMs: number };
  feeRecipient: string;
  /** The shared mempool's bounds (`--mempool-*`), the leader's batch size and the watcher lock's TTL. */
  mempool: Required<Omit<MempoolOptions, 'prefix'>> & { batchSize: number; watcherLockTtlMs: number };
  feedMaxSubscribers: number;
  /** Bearer token of the admin JSON-RPC methods; off when unset. */
  adminToken?: string;
  /** Members: follow this API instead of the lease holder's. */
  leaderUrl?: string;
  chaos: boolean;
}

/** The timings a node derives from its block time and lease TTL. */
export interface NodeTimings {
  /** forkchoiceUpdated → getPayload: the EL fills the payload meanwhile. */
  buildWaitMs: number;
  /** A build starts only with this much lease left: enough to build and commit before the lease can lapse. */
  leaseGuardMs: number;
  renewIntervalMs: number;
  retryIntervalMs: number;
  /** The HealthMonitor's probe period. */
  probeIntervalMs: number;
  /** How long a health record lives without a republish: three probes, so one lost publish does not hide a standby. */
  healthRecordTtlMs: number;
  /** A leader with no committed block for this long is unhealthy (`--health-max-block-gap` block times). */
  maxBlockGapMs: number;
  /**
   * How long the Builder waits for the Publisher's commit: what is left of its own deadline after
   * the build wait, less half a second. A hung Publisher then costs the Builder a failed slot (it
   * retries), not a deadline of its own: the Publisher's deadline restarts both, once.
   */
  commitWaitMs: number;
  /** The watcher's fallback poll for committed blocks it was not told of. */
  watcherPollMs: number;
  /** Per actor: a handler running longer than this is hung, a crash its supervisor restarts (DESIGN §1). */
  deadlines: Record<'healthMonitor' | 'elector' | 'publisher' | 'builder' | 'executor' | 'syncer' | 'mempoolWatcher', number>;
}

/**
 * The Engine API spec's timeouts (execution-apis `src/engine`): an EL may take this long to
 * execute a block (`engine_newPayload`) or apply a forkchoice. Only a follower waits that long;
 * the leader's actors must find a hang sooner.
 */
const SPEC_NEW_PAYLOAD_MS = 8_000;
const SPEC_FORKCHOICE_MS = 8_000;

/**
 * The watcher is told of every block committed or executed on its node; the poll only catches what
 * a lost notice or a block this node never saw left behind, so it can be slow.
 */
const WATCHER_FALLBACK_POLL_MS = 5_000;

export function nodeTimings(opts: Pick<NodeOptions, 'blockTimeMs' | 'lease' | 'health'>): NodeTimings {
  const { blockTimeMs } = opts;
  const ttl = opts.lease.ttlMs;
  const probeMs = opts.health.intervalMs;
  const builderDeadlineMs = blockTimeMs + 2_000;
  const buildWaitMs = Math.min(500, Math.floor(blockTimeMs / 2));
  return {
    // Half the slot, at most 500 ms: the embedded EL fills a block in well under that, and the rest
    // of the slot is for the commit and publish.
    buildWaitMs,
    // A third of the TTL (the renew period: a renewal is then due) or one block time, whichever is less.
    leaseGuardMs: Math.min(Math.floor(ttl / 3), blockTimeMs),
    // Three renewals per TTL: two may fail before the lease lapses.
    renewIntervalMs: Math.floor(ttl / 3),
    // A standby tries eight times per TTL (at least every 50 ms): a dead leader is replaced within
    // about TTL + TTL/8, without hammering the backend.
    retryIntervalMs: Math.max(50, Math.floor(ttl / 8)),
    probeIntervalMs: probeMs,
    healthRecordTtlMs: 3 * probeMs,
    maxBlockGapMs: opts.health.maxBlockGapBlocks * blockTimeMs,
    commitWaitMs: builderDeadlineMs - buildWaitMs - 500,
    watcherPollMs: WATCHER_FALLBACK_POLL_MS,
    deadlines: {
      // A probe is bounded by its interval; twice that and a second more is a hung probe.
      healthMonitor: 2 * probeMs + 1_000,
      // Its handlers release or hand over the lease: one lease TTL, plus the lease backend's answer time.
      elector: ttl + 3_000,
      // One block a handler: the block time, plus 2 s for a healthy EL's answers (milliseconds
      // each) and the commit; at the default 1 s block time, a hung Builder or Publisher is
      // restarted within 3 s, though the spec allows an EL 8 s for a forkchoice.
      publisher: builderDeadlineMs,
      builder: builderDeadlineMs,
      // A member executes what the leader built, as slowly as its EL needs: the spec's newPayload
      // and forkchoice timeouts, plus the store.
      executor: SPEC_NEW_PAYLOAD_MS + SPEC_FORKCHOICE_MS + 4_000,
      // One tick drains up to 16 blocks through the Executor.
      syncer: 60_000,
      // A catch-up yields after 5 s of confirming; 30 s covers a slow Redis and the store reads.
      mempoolWatcher: 30_000,
    },
  };
}

/** A URL for a listen address from this machine: its host when it names one, else loopback (an all-interfaces address is not reachable as such). */
export function localUrl(addr: ListenAddress, port: number): string {
  const host = addr.host === '' || addr.host === '0.0.0.0' || addr.host === '::' ? '127.0.0.1' : addr.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
