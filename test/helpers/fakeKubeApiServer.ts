import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';

/** A stored Lease as the API server returns it (only the fields this fake understands). */
export interface FakeLease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion: string; uid: string; annotations?: Record<string, string>; [k: string]: unknown };
  spec?: Record<string, unknown>;
}

const LEASE_PATH = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/?]+))?(?:\?.*)?$/;

/**
 * A FAKE Kubernetes API server: NOT a real kube-apiserver. It serves only
 * `GET/PUT /apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}`, the list `GET …/leases`
 * (with a one-label `labelSelector`), and
 * `POST /apis/coordination.k8s.io/v1/namespaces/{ns}/leases`, with the API server's optimistic
 * concurrency: every write bumps a global resourceVersion; a PUT whose
 * `metadata.resourceVersion` is stale gets 409 Conflict, a POST of an existing name 409
 * AlreadyExists, a missing lease 404 NotFound, as `Status` objects. No auth, no validation, no
 * watch. `stall()` holds every request until resumed, to test aborts.
 */
export class FakeKubeApiServer {
  readonly leases = new Map<string, FakeLease>();
  /** Requests served, e.g. `PUT default/leader 409`, for assertions. */
  readonly log: string[] = [];
  private revision = 100;
  private gate: Promise<void> | undefined;
  /** Requests held by `stall()` right now. */
  held = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeKubeApiServer> {
    let self: FakeKubeApiServer | undefined;
    const server = createServer((req, res) => void self?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    if (typeof addr !== 'object' || !addr) throw new Error('no address');
    self = new FakeKubeApiServer(server, `http://127.0.0.1:${addr.port}`);
    return self;
  }

  /** A kubeconfig whose only cluster is this fake (plain HTTP, skipTLSVerify). */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake', token: 'fake-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** Holds every request (already arrived or not) until the returned function is called. */
  stall(): () => void {
    let resume!: () => void;
    this.gate = new Promise<void>((r) => (resume = r));
    return () => {
      this.gate = undefined;
      resume();
    };
  }

  /** Resolves once `n` requests are held by `stall()`. */
  async waitForHeld(n: number, timeoutMs = 5_000): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (this.held < n) {
      if (performance.now() > end) throw new Error(`only ${this.held} of ${n} requests arrived`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    while (this.gate) {
      this.held++;
      await this.gate;
      this.held--;
    }
    const m = LEASE_PATH.exec(req.url ?? '');
    const [ns, name] = [m?.[1], m?.[2]];
    const reply = (code: number, body: unknown): void => {
      this.log.push(`${req.method} ${ns}/${name ?? ''} ${code}`);
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const status = (code: number, reason: string, message: string): void =>
      reply(code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, message, code });
    if (!ns) return status(404, 'NotFound', `the server could not find the requested resource ${req.url}`);

    if (req.method === 'GET' && !name) {
      // A list, optionally by one `key=value` label (all this fake supports of label selectors).
      const selector = new URL(req.url ?? '', 'http://fake').searchParams.get('labelSelector');
      const [key, value] = selector ? selector.split('=') : [];
      const items = [...this.leases.values()].filter(
        (l) => l.metadata.namespace === ns && (!key || (l.metadata.labels as Record<string, string> | undefined)?.[key] === value),
      );
      return reply(200, { apiVersion: 'coordination.k8s.io/v1', kind: 'LeaseList', metadata: { resourceVersion: String(this.revision) }, items });
    }
    if (req.method === 'GET' && name) {
      const lease = this.leases.get(`${ns}/${name}`);
      return lease ? reply(200, lease) : status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
    }
    let body: FakeLease;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString()) as FakeLease;
    } catch {
      return status(400, 'BadRequest', 'invalid JSON body');
    }
    if (req.method === 'POST' && !name) {
      const key = `${ns}/${body.metadata?.name}`;
      if (this.leases.has(key)) return status(409, 'AlreadyExists', `leases.coordination.k8s.io "${body.metadata.name}" already exists`);
      const stored = this.store(ns, body.metadata.name, body, randomUUID());
      return reply(201, stored);
    }
    if (req.method === 'PUT' && name) {
      const current = this.leases.get(`${ns}/${name}`);
      if (!current) return status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
      if (body.metadata?.name !== name) return status(400, 'BadRequest', 'the name in the body does not match the URL');
      const rv = body.metadata.resourceVersion;
      if (rv !== undefined && rv !== current.metadata.resourceVersion) {
        return status(
          409,
          'Conflict',
          `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        );
      }
      return reply(200, this.store(ns, name, body, current.metadata.uid));
    }
    return status(405, 'MethodNotAllowed', `${req.method} is not supported by this fake`);
  }

  private store(ns: string, name: string, body: FakeLease, uid: string): FakeLease {
    const stored: FakeLease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...body.metadata, name, namespace: ns, uid, resourceVersion: String(++this.revision) },
      ...(body.spec ? { spec: body.spec } : {}),
    };
    this.leases.set(`${ns}/${name}`, stored);
    return stored;
  }
}
