/** Redis lease (DESIGN §3, keys of §5). */
export interface RedisLeaseOptions {
  /** Key prefix (`--redis-prefix`); the lease uses `<prefix>:leader`, `<prefix>:epoch`, `<prefix>:leader:meta`. */
  prefix?: string;
}

export const defaultRedisLeaseOptions = {
  /** The seed's prefix, so existing tooling that reads `consensus:leader` keeps working. */
  prefix: "consensus",
} satisfies Required<RedisLeaseOptions>;

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
} satisfies Omit<Required<FileLeaseOptions>, "path">;
