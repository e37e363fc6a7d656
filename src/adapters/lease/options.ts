/** The lease backends (`--lease-backend`), behind one `LeaseBackend` interface. */
export const LEASE_BACKENDS = ['redis', 'postgres', 'etcd', 'kubernetes', 'file'] as const;
export type LeaseBackendName = (typeof LEASE_BACKENDS)[number];

/** Redis lease (DESIGN §3, keys of §5). */
export interface RedisLeaseOptions {
  /** Key prefix (`--redis-prefix`); the lease uses `<prefix>:leader`, `<prefix>:epoch`, `<prefix>:leader:meta`. */
  prefix?: string;
  /**
   * Other key names, for a lock that is not the leader lease (the mempool watcher's): the lease
   * key holds the holder's id with the TTL, `epoch` counts acquisitions and never expires, `meta`
   * holds the holder's advertised fields. Overrides `prefix`.
   */
  keys?: RedisLeaseKeys;
}

export interface RedisLeaseKeys {
  lease: string;
  epoch: string;
  meta: string;
}

export const defaultRedisLeaseOptions = {
  /** The seed's prefix, so existing tooling that reads `consensus:leader` keeps working. */
  prefix: 'consensus',
} satisfies Required<Omit<RedisLeaseOptions, 'keys'>>;

/** File lease, for local development only: one machine, judged by its wall clock. */
export interface FileLeaseOptions {
  /** The JSON lease file; its directory is created if missing. */
  path: string;
  /**
   * When a critical-section lock (`<path>.lock`) left by a crashed process counts as abandoned.
   * proper-lockfile's minimum is 2 s; the lock is only held for one read-modify-write, so this
   * delays others only if a process dies inside those few milliseconds.
   */
  lockStaleMs?: number;
  /** Pause between attempts to take a busy critical-section lock; jittered up to twice this. */
  lockRetryMs?: number;
}

export const defaultFileLeaseOptions = {
  lockStaleMs: 2_000,
  lockRetryMs: 5,
} satisfies Omit<Required<FileLeaseOptions>, 'path'>;

/** PostgreSQL lease: a row of the `lease` table, judged by the server's clock. */
export interface PostgresLeaseOptions {
  /** The row's `name`, so several leases (or deployments) can share one table. */
  name?: string;
}

export const defaultPostgresLeaseOptions = {
  /** The same role as redis's `<prefix>:leader` key. */
  name: 'leader',
} satisfies Required<PostgresLeaseOptions>;

/** etcd lease: a key bound to an etcd lease, replicated by Raft. */
export interface EtcdLeaseOptions {
  /** Client URLs of the etcd members (`--etcd-endpoints`), e.g. `http://10.0.0.1:2379`; the client fails over between them. */
  endpoints: string[];
  /** Key prefix; the lease is the key `<prefix>/leader`. */
  prefix?: string;
  /** How long to wait for a connection to a member before trying the next. */
  dialTimeoutMs?: number;
}

export const defaultEtcdLeaseOptions = {
  prefix: 'baton',
  /** Well below any sane TTL, so a dead member costs a renew only a fraction of the lease. */
  dialTimeoutMs: 1_000,
} satisfies Omit<Required<EtcdLeaseOptions>, 'endpoints'>;

/** Kubernetes lease: a `coordination.k8s.io/v1` Lease object. */
export interface KubernetesLeaseOptions {
  /** The Lease's namespace; the pod's own namespace is the usual choice (RBAC: get/create/update leases). */
  namespace?: string;
  /** The Lease's name. */
  name?: string;
  /** Path of a kubeconfig file; by default $KUBECONFIG, ~/.kube/config, else the in-cluster service account. */
  kubeconfig?: string;
}

export const defaultKubernetesLeaseOptions = {
  namespace: 'default',
  name: 'baton-leader',
} satisfies Omit<Required<KubernetesLeaseOptions>, 'kubeconfig'>;
