import type { CoordinationV1Api, KubeConfig, V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { NodeHealthRecord } from '../../types/health.js';
import type { Grant, LeaseBackend, LeaseHolder } from './interface.js';
import { defaultKubernetesLeaseOptions, type KubernetesLeaseOptions } from './options.js';
import { abortable, checkTtl, releaseLateGrant } from './util.js';

/** Annotation prefix of the holder's advertised fields: `meta.baton.dev/apiUrl`. */
const META_PREFIX = 'meta.baton.dev/';
/** Label of a node's health Lease: the name of the leader Lease it belongs to. */
const HEALTH_LABEL = 'baton.dev/health-of';
/** Annotation of a node's health Lease: its `NodeHealthRecord` as JSON. */
const HEALTH_ANNOTATION = 'baton.dev/health';

/** A Lease name (a DNS subdomain: lower case, digits, `-` and `.`) for a node's health record. */
function healthLeaseName(lease: string, id: string): string {
  const safe = id
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return `${lease}-health-${safe || 'node'}`.slice(0, 253);
}

export interface KubernetesLeaseModules {
  logger: Logger;
  /** A loaded kubeconfig (tests point it at a fake API server); by default `options.kubeconfig` or the default loading rules. */
  kubeConfig?: KubeConfig;
}

/**
 * A `coordination.k8s.io/v1` Lease (DESIGN §3), as client-go's leader election uses it, with
 * optimistic concurrency: every write is a replace carrying the `resourceVersion` just read, so of
 * racing writers exactly one succeeds and the others get 409 Conflict (for tryAcquire: someone
 * else won, null). A missing Lease is created; a 409 AlreadyExists there means the same.
 *
 * - holder = `spec.holderIdentity`; meta = annotations under `meta.baton.dev/`.
 * - epoch = `spec.leaseTransitions`, incremented by every new acquisition, including a
 *   re-acquisition by the same id (client-go only counts holder changes; fencing needs both).
 *   Deleting the Lease object resets it: don't (the block store's fence would refuse the next
 *   leader until its epoch caught up).
 * - expiry is judged by whoever reads: `spec.renewTime + leaseDurationSeconds` against the
 *   reader's wall clock. `renewTime` is stamped by the writer's wall clock, so this assumes the
 *   nodes' clocks agree (NTP) to well within the Elector's safety margin, as client-go does.
 * - `leaseDurationSeconds` is whole seconds: `ttlMs` is rounded up (never shorter than asked).
 */
export class KubernetesLease implements LeaseBackend {
  /**
   * Loaded on first use: @kubernetes/client-node costs ~1 s of start-up that other backends
   * should not pay. A kubeconfig that fails to load therefore fails the first call.
   */
  private readonly api: Promise<CoordinationV1Api>;
  private readonly namespace: string;
  private readonly name: string;
  private readonly logger: Logger;

  constructor(opts: KubernetesLeaseOptions, modules: KubernetesLeaseModules) {
    const o = { ...defaultKubernetesLeaseOptions, ...opts };
    this.namespace = o.namespace;
    this.name = o.name;
    this.logger = modules.logger;
    this.api = import('@kubernetes/client-node').then((k8s) => {
      let kc = modules.kubeConfig;
      if (!kc) {
        kc = new k8s.KubeConfig();
        // loadFromDefault: $KUBECONFIG, ~/.kube/config, else the in-cluster service account.
        if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
        else kc.loadFromDefault();
      }
      return kc.makeApiClient(k8s.CoordinationV1Api);
    });
    this.api.catch(() => {}); // reported by the first call, not as an unhandled rejection
  }

  async tryAcquire(id: string, ttlMs: number, signal: AbortSignal, meta?: Record<string, string>): Promise<Grant | null> {
    checkTtl(ttlMs);
    return abortable(
      signal,
      async () => {
        const lease = await this.read();
        const now = new MicroTime(Date.now());
        const spec = { holderIdentity: id, leaseDurationSeconds: leaseSeconds(ttlMs), acquireTime: now, renewTime: now };
        if (!lease) {
          const body: V1Lease = {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.name, namespace: this.namespace, annotations: withMeta(undefined, meta) },
            spec: { ...spec, leaseTransitions: 1 },
          };
          const created = await conflictIsNull((await this.api).createNamespacedLease({ namespace: this.namespace, body }));
          return created ? { epoch: 1n } : null;
        }
        if (isLive(lease, Date.now())) return null;
        const epoch = (lease.spec?.leaseTransitions ?? 0) + 1;
        const replaced = await this.replace(lease, {
          metadata: { ...lease.metadata, annotations: withMeta(lease.metadata?.annotations, meta) },
          spec: { ...lease.spec, ...spec, leaseTransitions: epoch },
        });
        return replaced ? { epoch: BigInt(epoch) } : null;
      },
      (late) => releaseLateGrant(this, id, late, this.logger),
    );
  }

  async renew(id: string, grant: Grant, ttlMs: number, signal: AbortSignal): Promise<Grant | null> {
    checkTtl(ttlMs);
    return abortable(signal, async () => {
      // A conflict here is some other write (an annotation, a contender that lost): read again.
      for (let attempt = 0; attempt < 3 && !signal.aborted; attempt++) {
        const lease = await this.read();
        if (!lease || !holds(lease, id, grant) || !isLive(lease, Date.now())) return null;
        const renewTime = new MicroTime(Date.now());
        const ok = await this.replace(lease, { metadata: lease.metadata, spec: { ...lease.spec, renewTime, leaseDurationSeconds: leaseSeconds(ttlMs) } });
        if (ok) return grant;
      }
      return null;
    });
  }

  async release(id: string, grant: Grant): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const lease = await this.read();
      if (!lease || !holds(lease, id, grant)) return;
      // Keep leaseTransitions (the epoch); drop the holder and its advertised fields.
      const { holderIdentity: _holder, ...spec } = lease.spec ?? {};
      const ok = await this.replace(lease, { metadata: { ...lease.metadata, annotations: withMeta(lease.metadata?.annotations, undefined) }, spec });
      if (ok) return;
    }
  }

  async current(signal: AbortSignal): Promise<LeaseHolder | null> {
    return abortable(signal, async () => {
      const lease = await this.read();
      if (!lease?.spec?.holderIdentity || !isLive(lease, Date.now())) return null;
      const holder: LeaseHolder = { holder: lease.spec.holderIdentity, epoch: BigInt(lease.spec.leaseTransitions ?? 0) };
      const meta = metaOf(lease.metadata?.annotations);
      if (meta) holder.meta = meta;
      return holder;
    });
  }

  /**
   * One Lease object per node, `<lease>-health-<id>` (labelled with the lease's name), holding the
   * record in an annotation; expiry is `renewTime + leaseDurationSeconds`, judged like the leader
   * Lease by the reader's clock.
   */
  async publishHealth(record: NodeHealthRecord, ttlMs: number, signal: AbortSignal): Promise<void> {
    checkTtl(ttlMs);
    await abortable(signal, async () => {
      const api = await this.api;
      const name = healthLeaseName(this.name, record.id);
      const body: V1Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace: this.namespace, labels: { [HEALTH_LABEL]: this.name }, annotations: { [HEALTH_ANNOTATION]: JSON.stringify(record) } },
        spec: { holderIdentity: record.id, leaseDurationSeconds: leaseSeconds(ttlMs), renewTime: new MicroTime(Date.now()) },
      };
      // Only this node writes its record: a plain replace (no resourceVersion) after the first create.
      try {
        await api.replaceNamespacedLease({ name, namespace: this.namespace, body });
      } catch (err) {
        if (httpStatus(err) !== 404) throw err;
        await conflictIsNull(api.createNamespacedLease({ namespace: this.namespace, body }));
      }
    });
  }

  async healthRecords(signal: AbortSignal): Promise<NodeHealthRecord[]> {
    return abortable(signal, async () => {
      const list = await (await this.api).listNamespacedLease({ namespace: this.namespace, labelSelector: `${HEALTH_LABEL}=${this.name}` });
      const now = Date.now();
      return list.items
        .filter((lease) => isLive(lease, now) && lease.metadata?.annotations?.[HEALTH_ANNOTATION])
        .map((lease) => JSON.parse(lease.metadata!.annotations![HEALTH_ANNOTATION]!) as NodeHealthRecord);
    });
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await (await this.api).readNamespacedLease({ name: this.name, namespace: this.namespace });
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw err;
    }
  }

  /** Replace guarded by the resourceVersion of `read`; false on 409 Conflict. */
  private async replace(read: V1Lease, next: Pick<V1Lease, 'metadata' | 'spec'>): Promise<boolean> {
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...next.metadata, name: this.name, namespace: this.namespace, resourceVersion: read.metadata?.resourceVersion },
      spec: next.spec,
    };
    return (await conflictIsNull((await this.api).replaceNamespacedLease({ name: this.name, namespace: this.namespace, body }))) !== null;
  }
}

/** client-node's ApiException carries the HTTP status as a numeric `code`. */
function httpStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * A MicroTime as the API server parses it (RFC 3339 with exactly six fractional digits), like
 * client-node's V1MicroTime, which this file does not import eagerly. JavaScript has milliseconds.
 */
class MicroTime extends Date {
  override toISOString(): string {
    return `${super.toISOString().slice(0, -1)}000Z`;
  }
}

/** Whole seconds, rounded up: the Lease API cannot say less, and shorter would be unsafe. */
export function leaseSeconds(ttlMs: number): number {
  return Math.ceil(ttlMs / 1_000);
}

async function conflictIsNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (httpStatus(err) === 409) return null;
    throw err;
  }
}

function holds(lease: V1Lease, id: string, grant: Grant): boolean {
  return lease.spec?.holderIdentity === id && BigInt(lease.spec.leaseTransitions ?? 0) === grant.epoch;
}

/** Held and not expired by the reader's wall clock (see the class comment on clocks). */
function isLive(lease: V1Lease, nowMs: number): boolean {
  const spec = lease.spec;
  if (!spec?.holderIdentity || spec.renewTime === undefined || spec.leaseDurationSeconds === undefined) return false;
  // client-node hands MicroTime back as the wire string or a Date depending on the path.
  const renewedMs = new Date(spec.renewTime as Date | string).getTime();
  return renewedMs + spec.leaseDurationSeconds * 1_000 > nowMs;
}

/** Other annotations kept, ours replaced by `meta` (or removed). */
function withMeta(annotations: Record<string, string> | undefined, meta: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations ?? {})) if (!k.startsWith(META_PREFIX)) out[k] = v;
  for (const [k, v] of Object.entries(meta ?? {})) out[META_PREFIX + k] = v;
  return out;
}

function metaOf(annotations: Record<string, string> | undefined): Record<string, string> | undefined {
  const entries = Object.entries(annotations ?? {}).filter(([k]) => k.startsWith(META_PREFIX));
  return entries.length > 0 ? Object.fromEntries(entries.map(([k, v]) => [k.slice(META_PREFIX.length), v])) : undefined;
}
