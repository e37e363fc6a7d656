import type { Etcd3, IKeyValue, ILeaseKeepAliveResponse } from 'etcd3';
import type { Logger } from 'pino';
import type { NodeHealthRecord } from '../../types/health.js';
import { LeaseError, LeaseErrorCode } from './errors.js';
import type { Grant, LeaseBackend, LeaseHolder } from './interface.js';
import { defaultEtcdLeaseOptions, type EtcdLeaseOptions } from './options.js';
import { abortable, checkTtl, releaseLateGrant } from './util.js';

/** The leader key's value: who holds it and what it advertises. The epoch is the key's create revision. */
interface LeaderValue {
  holder: string;
  meta?: Record<string, string>;
}

/** One etcd member on `/health`. */
export interface EtcdMemberStatus {
  name: string;
  id: string;
  clientUrl: string | null;
  isRaftLeader: boolean;
  healthy: boolean;
}

export interface EtcdLeaseModules {
  logger: Logger;
  /** An existing client (not closed by `close()`); by default the backend dials `endpoints` itself. */
  client?: Etcd3;
}

/**
 * The lease as one etcd key bound to an etcd lease (DESIGN §3): Raft-replicated, so no single
 * point of failure, and judged by the etcd leader's clock.
 *
 * - tryAcquire (never blocks on a held lease, unlike `Election.campaign`): if the key exists,
 *   null; else grant an etcd lease and `put` the key under it in a transaction guarded by
 *   `createRevision == 0`. The loser of a race revokes its unused etcd lease.
 * - epoch = the key's create revision: etcd's global revision only grows, and every acquisition
 *   creates the key anew, so it strictly increases across holders, re-acquisitions and restarts.
 * - renew = one keepalive of the etcd lease the key is bound to, after checking that the key
 *   still names `id` with the grant's create revision. release = revoke that etcd lease (which
 *   deletes the key atomically).
 *
 * TTLs: etcd leases count whole seconds, so `ttlMs` is rounded up (a longer lease on the server is
 * the safe direction: the holder's own deadline `t0 + ttl − margin` passes first). etcd also
 * raises any TTL below its minimum, ceil(1.5 × election timeout): 2 s with the default 1 s
 * election timeout. A keepalive restores the TTL granted at acquisition, so a renew asking for
 * more than that is refused (null) rather than promising time etcd will not give. The etcd
 * leader revokes expired leases from a 500 ms loop, so a dead holder's key may outlive its TTL by
 * up to about half a second (plus an election if the etcd leader changes, which also restarts
 * every lease's TTL).
 */
export class EtcdLease implements LeaseBackend {
  /** Loaded on first use: etcd3 (gRPC) costs ~0.5 s of start-up that other backends should not pay. */
  private readonly client: Promise<Etcd3>;
  private readonly ownsClient: boolean;
  private readonly key: string;
  /** Nodes' health records live under `<prefix>/health/<id>`, each bound to its node's own etcd lease. */
  private readonly healthPrefix: string;
  /** The etcd lease this node's health record is bound to, kept alive by each publish. */
  private healthLease: string | undefined;
  private readonly logger: Logger;
  /** Keepalive attempts per renew: one per member, so one dead member cannot fail a renew by itself. */
  private readonly keepaliveAttempts: number;

  constructor(opts: EtcdLeaseOptions, modules: EtcdLeaseModules) {
    const o = { ...defaultEtcdLeaseOptions, ...opts };
    if (!modules.client && o.endpoints.length === 0) throw new Error('the etcd lease backend needs --etcd-endpoints');
    this.key = `${o.prefix}/leader`;
    this.healthPrefix = `${o.prefix}/health/`;
    this.logger = modules.logger;
    this.ownsClient = !modules.client;
    this.keepaliveAttempts = Math.max(1, o.endpoints.length);
    this.client = modules.client
      ? Promise.resolve(modules.client)
      : import('etcd3').then(({ Etcd3 }) => new Etcd3({ hosts: o.endpoints, dialTimeout: o.dialTimeoutMs }));
  }

  async tryAcquire(id: string, ttlMs: number, signal: AbortSignal, meta?: Record<string, string>): Promise<Grant | null> {
    checkTtl(ttlMs);
    const value: LeaderValue = { holder: id };
    if (meta && Object.keys(meta).length > 0) value.meta = meta;
    return abortable(
      signal,
      async () => {
        // Cheap refusal while the lease is held: no etcd lease is granted just to be revoked.
        if (await this.read()) return null;
        const client = await this.client;
        const { ID: leaseId } = await client.leaseClient.leaseGrant({ TTL: ttlSeconds(ttlMs) });
        let won = false;
        try {
          const res = await client
            .if(this.key, 'Create', '==', 0)
            .then(client.put(this.key).value(JSON.stringify(value)).lease(leaseId))
            .commit();
          won = res.succeeded;
          // The put is the transaction's only write: the key's create revision is the header's.
          return won ? { epoch: BigInt(res.header.revision) } : null;
        } finally {
          if (!won) this.revoke(leaseId);
        }
      },
      (late) => releaseLateGrant(this, id, late, this.logger),
    );
  }

  async renew(id: string, grant: Grant, ttlMs: number, signal: AbortSignal): Promise<Grant | null> {
    checkTtl(ttlMs);
    return abortable(signal, async () => {
      const kv = await this.readLive(id, grant);
      if (!kv) return null;
      // If the etcd lease expired or was revoked since the read, the keepalive reports TTL 0.
      const res = await this.keepalive(kv.lease, signal);
      const ttl = Number(res.TTL);
      if (ttl <= 0) return null;
      if (ttl * 1_000 < ttlMs) {
        this.logger.warn({ grantedTtlS: ttl, ttlMs }, 'Renew asked for a longer TTL than the etcd lease was granted with');
        return null;
      }
      return grant;
    });
  }

  async release(id: string, grant: Grant): Promise<void> {
    const kv = await this.readLive(id, grant);
    // Revoking our own etcd lease can only delete our key: if it expired meanwhile and someone
    // re-created the key, theirs is bound to another etcd lease.
    if (kv) await (await this.client).leaseClient.leaseRevoke({ ID: kv.lease }).catch((err: unknown) => ignoreLeaseNotFound(err));
  }

  async current(signal: AbortSignal): Promise<LeaseHolder | null> {
    return abortable(signal, async () => {
      const kv = await this.read();
      if (!kv) return null;
      const value = parse(kv, this.key);
      const holder: LeaseHolder = { holder: value.holder, epoch: BigInt(kv.create_revision) };
      if (value.meta) holder.meta = value.meta;
      return holder;
    });
  }

  /**
   * The record is bound to an etcd lease of this node's (TTL rounded up to whole seconds, raised to
   * etcd's minimum): each publish keeps that lease alive and rewrites the value, so a node that
   * stops publishing loses its record when etcd expires the lease, by the etcd leader's clock.
   */
  async publishHealth(record: NodeHealthRecord, ttlMs: number, signal: AbortSignal): Promise<void> {
    checkTtl(ttlMs);
    await abortable(signal, async () => {
      const client = await this.client;
      if (this.healthLease !== undefined) {
        const alive = await this.keepalive(this.healthLease, signal).then(
          (res) => Number(res.TTL) > 0,
          () => false,
        );
        if (!alive) this.healthLease = undefined;
      }
      this.healthLease ??= (await client.leaseClient.leaseGrant({ TTL: ttlSeconds(ttlMs) })).ID;
      await client.put(`${this.healthPrefix}${record.id}`).value(JSON.stringify(record)).lease(this.healthLease);
    });
  }

  async healthRecords(signal: AbortSignal): Promise<NodeHealthRecord[]> {
    return abortable(signal, async () => {
      const values = await (await this.client).getAll().prefix(this.healthPrefix).strings();
      return Object.values(values).map((json) => JSON.parse(json) as NodeHealthRecord);
    });
  }

  /**
   * The etcd cluster as `/health` shows it: every member, whether it is the Raft leader, and whether
   * its own `/health` endpoint answers healthy. Lets an operator see a lost member before a second
   * loss costs quorum.
   */
  async clusterMembers(signal: AbortSignal): Promise<EtcdMemberStatus[]> {
    const client = await this.client;
    const [{ members }, leaderStatus] = await Promise.all([
      abortable(signal, () => client.cluster.memberList({ linearizable: false })),
      abortable(signal, () => client.maintenance.status()),
    ]);
    return Promise.all(
      members.map(async (m) => {
        const clientUrl = m.clientURLs[0] ?? null;
        const healthy = clientUrl
          ? await fetch(`${clientUrl}/health`, { signal })
              .then(async (r) => r.ok && ((await r.json()) as { health?: string }).health === 'true')
              .catch(() => false)
          : false;
        return { name: m.name, id: m.ID, clientUrl, isRaftLeader: m.ID === leaderStatus.leader, healthy };
      }),
    );
  }

  /** Closes the client if this backend dialled it. */
  async close(): Promise<void> {
    if (this.ownsClient) (await this.client).close();
  }

  private async read(): Promise<IKeyValue | undefined> {
    const res = await (await this.client).get(this.key).exec();
    return res.kvs[0];
  }

  /** The key if `grant` is still the live acquisition of `id`. */
  private async readLive(id: string, grant: Grant): Promise<IKeyValue | undefined> {
    const kv = await this.read();
    if (!kv || kv.create_revision !== grant.epoch.toString() || parse(kv, this.key).holder !== id) return undefined;
    return kv;
  }

  /**
   * etcd3 fails unary calls over to another member by itself, but not streams, and a keepalive is
   * a stream: one that lands on a dead member fails. Try the next member (the client shuffles
   * them and its circuit breaker skips a member that keeps failing) while `signal` allows.
   */
  private async keepalive(leaseId: string, signal: AbortSignal): Promise<ILeaseKeepAliveResponse> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.keepaliveOnce(leaseId);
      } catch (err) {
        if (attempt >= this.keepaliveAttempts || signal.aborted || (err as { code?: unknown }).code !== GRPC_UNAVAILABLE) throw err;
        this.logger.debug({ err, attempt }, 'etcd keepalive failed on one member; trying another');
      }
    }
  }

  private async keepaliveOnce(leaseId: string): Promise<ILeaseKeepAliveResponse> {
    const stream = await (await this.client).leaseClient.leaseKeepAlive();
    try {
      return await new Promise<ILeaseKeepAliveResponse>((resolve, reject) => {
        stream.on('data', resolve);
        stream.on('error', reject);
        stream.write({ ID: leaseId });
      });
    } finally {
      stream.end();
    }
  }

  /** Best effort: an unused etcd lease also dies by itself after its TTL. */
  private revoke(leaseId: string): void {
    void this.client
      .then((client) => client.leaseClient.leaseRevoke({ ID: leaseId }))
      .catch((err: unknown) => {
        try {
          ignoreLeaseNotFound(err);
        } catch {
          this.logger.debug({ err }, 'Revoking an unused etcd lease failed');
        }
      });
  }
}

/** gRPC status UNAVAILABLE: the member did not answer (connection refused or lost), so another may. */
const GRPC_UNAVAILABLE = 14;

/** etcd leases count whole seconds; rounding up never ends a lease before the holder expects. */
export function ttlSeconds(ttlMs: number): number {
  return Math.ceil(ttlMs / 1_000);
}

function ignoreLeaseNotFound(err: unknown): void {
  if (!/lease not found/i.test(String((err as Error)?.message))) throw err;
}

function parse(kv: IKeyValue, key: string): LeaderValue {
  try {
    const v = JSON.parse(kv.value.toString()) as Partial<LeaderValue>;
    if (typeof v.holder === 'string') return v as LeaderValue;
  } catch {
    // fall through
  }
  throw new LeaseError(LeaseErrorCode.LEASE_CORRUPT, `etcd key ${key} does not hold a lease`, { key });
}
