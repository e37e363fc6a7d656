/**
 * The deployment files, checked without Docker or Kubernetes: every reference in
 * `docker-compose.yml`, the `Dockerfile` and `k8s/` resolves (services, volumes, mounted files,
 * Secrets, ConfigMaps, ports), every BATON_* variable is an option of the schema, and each Baton
 * service's environment parses into a valid configuration. The Grafana dashboard only queries
 * metrics the code registers.
 */

import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { parse, parseAllDocuments } from 'yaml';
import { genesisJson } from '../../scripts/gen-genesis.js';
import { defaultKubernetesLeaseOptions } from '../../src/adapters/lease/options.js';
import { type Config, parseConfig } from '../../src/cli/config.js';
import { envName, options } from '../../src/cli/options.js';
import { metricOfSeries, registeredMetrics } from '../helpers/srcMetrics.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
/** Every BATON_* variable the node reads. */
const OPTION_ENV = new Set(Object.keys(options).map(envName));
const scratch = mkdtempSync(join(tmpdir(), 'baton-deploy-'));

/** Parses an environment as the node would (no argv); throws the node's own ConfigError if invalid. */
function configOf(env: Record<string, string>): Config {
  const c = parseConfig([], env);
  if ('help' in c) throw new Error('unexpected help request');
  return c;
}

// ---------------------------------------------------------------- docker-compose.yml

type Dict = Record<string, any>;
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Dict; volumes?: Dict };
const services = compose.services;

/** `${VAR:-default}` → default, as compose does when VAR is unset; a bare `${VAR}` would be empty. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (whole, _name, dflt) => {
    if (dflt === undefined) throw new Error(`${whole} has no default: the file depends on the caller's environment`);
    return dflt;
  });
}

function envOf(service: Dict): Record<string, string> {
  const env = service.environment ?? {};
  const pairs: [string, unknown][] = Array.isArray(env) ? env.map((e: string) => [e.split('=')[0]!, e.slice(e.indexOf('=') + 1)]) : Object.entries(env);
  return Object.fromEntries(pairs.map(([k, v]) => [k, interpolate(String(v ?? ''))]));
}

interface Mount {
  source: string;
  target: string;
  bind: boolean;
}

function mountsOf(service: Dict): Mount[] {
  return (service.volumes ?? []).map((v: string | Dict) => {
    const [source, target] = typeof v === 'string' ? v.split(':') : [v.source, v.target];
    return { source: source!, target: target!, bind: /^[./~]/.test(source!) };
  });
}

/** Published host ports of a service, and the container ports behind them. */
function portsOf(service: Dict): { host: number; container: number }[] {
  return (service.ports ?? []).map((p: string | Dict) => {
    if (typeof p !== 'string') return { host: Number(p.published), container: Number(p.target) };
    const parts = p.split(':');
    return { host: Number(parts.at(-2)), container: Number(parts.at(-1)) };
  });
}

const dependsOn = (service: Dict): string[] => (Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {}));
const batonServices = Object.entries(services).filter(([, s]) => 'BATON_ROLE' in envOf(s));

test('compose has the Geth pair, the stores, a 3-member etcd and two leaders plus a member, each with a health check', (t) => {
  for (const name of ['geth', 'geth-member', 'redis', 'postgres', 'postgres-member', 'etcd1', 'etcd2', 'etcd3']) t.truthy(services[name], `service ${name}`);
  const roles = batonServices.map(([, s]) => envOf(s).BATON_ROLE).sort();
  t.deepEqual(roles, ['leader', 'leader', 'member']);
  for (const [name, s] of Object.entries(services)) {
    t.true(Array.isArray(s.healthcheck?.test) && s.healthcheck.test.length > 1 && s.healthcheck.test[0] !== 'NONE', `${name} has a health check`);
  }
});

test('compose: every depends_on target is a service', (t) => {
  for (const [name, s] of Object.entries(services)) {
    for (const dep of dependsOn(s)) t.truthy(services[dep], `${name} depends on ${dep}, which is not a service`);
  }
});

test('compose: every named volume is declared (and every declared one used); every bind-mounted file exists', (t) => {
  const declared = new Set(Object.keys(compose.volumes ?? {}));
  const used = new Set<string>();
  for (const [name, s] of Object.entries(services)) {
    for (const m of mountsOf(s)) {
      if (m.bind) t.true(existsSync(join(ROOT, m.source)), `${name} mounts ${m.source}, missing from the repository`);
      else {
        used.add(m.source);
        t.true(declared.has(m.source), `${name} uses volume ${m.source}, not declared under volumes:`);
      }
    }
  }
  t.deepEqual([...declared].sort(), [...used].sort(), 'declared volumes = used volumes');
});

test('compose: published host ports do not collide; Geth serves the Engine API on 8551 and 8552', (t) => {
  const seen = new Map<number, string>();
  for (const [name, s] of Object.entries(services)) {
    for (const { host } of portsOf(s)) {
      t.false(seen.has(host), `host port ${host} of ${name} is already published by ${seen.get(host)}`);
      seen.set(host, name);
    }
  }
  for (const [name, port] of [
    ['geth', 8551],
    ['geth-member', 8552],
  ] as const) {
    t.regex(JSON.stringify(services[name].command), new RegExp(`--authrpc\\.port ${port}\\b`), `${name} Engine API port`);
    t.true(
      portsOf(services[name]).some((p) => p.host === port && p.container === port),
      `${name} publishes ${port}`,
    );
  }
});

test('compose: both Geths run the repository genesis with the same JWT secret file as Baton', (t) => {
  const genesis = JSON.parse(read('deploy/genesis.json'));
  for (const name of ['geth', 'geth-member']) {
    const s = services[name];
    const command = JSON.stringify(s.command);
    t.true(command.includes(`--networkid ${genesis.config.chainId}`), `${name} network id is the genesis chain id`);
    const jwtTarget = /--authrpc\.jwtsecret (\S+?)["\s]/.exec(command)?.[1];
    t.is(mountsOf(s).find((m) => m.target === jwtTarget)?.source, './deploy/jwtsecret.hex', `${name} JWT secret file`);
    t.is(mountsOf(s).find((m) => command.includes(`init --datadir /data ${m.target}`))?.source, './deploy/genesis.json', `${name} genesis`);
  }
  for (const [name, s] of batonServices) {
    t.is(mountsOf(s).find((m) => m.target === envOf(s).BATON_JWT_SECRET_FILE)?.source, './deploy/jwtsecret.hex', `${name} reads the Geths' JWT secret`);
  }
});

test('compose: the etcd members agree on one initial cluster naming each of them', (t) => {
  const members = Object.keys(services).filter((n) => /^etcd\d$/.test(n));
  t.is(members.length, 3);
  const flag = (name: string, key: string) => (services[name].command as string[]).find((a) => a.startsWith(`--${key}=`))?.slice(key.length + 3);
  const cluster = flag(members[0]!, 'initial-cluster')!;
  t.deepEqual(
    cluster
      .split(',')
      .map((e) => e.split('=')[0])
      .sort(),
    members,
  );
  for (const name of members) {
    t.is(flag(name, 'initial-cluster'), cluster, `${name} --initial-cluster`);
    t.is(flag(name, 'name'), name);
    t.true(cluster.split(',').includes(`${name}=${flag(name, 'initial-advertise-peer-urls')}`), `${name} advertises the peer URL the cluster lists`);
    t.is(flag(name, 'advertise-client-urls'), `http://${name}:2379`);
  }
});

test('compose: every BATON_* variable is an option, and each Baton service configuration parses and points at real services', (t) => {
  for (const [name, s] of Object.entries(services)) {
    for (const key of Object.keys(envOf(s))) if (key.startsWith('BATON_')) t.true(OPTION_ENV.has(key), `${name}: ${key} is not a Baton option`);
  }
  for (const [name, s] of batonServices) {
    const env = envOf(s);
    // Container paths of bind-mounted files → the files in the repository.
    for (const m of mountsOf(s)) for (const [k, v] of Object.entries(env)) if (m.bind && v === m.target) env[k] = join(ROOT, m.source);
    const c = configOf(env);
    t.is(c.instanceId, env.BATON_INSTANCE_ID!);
    const targets = [c.ethClientUrl, c.ethRpcUrl, c.postgresUrl, c.redisAddr, ...c.etcdEndpoints, ...(c.role === 'leader' ? [c.advertiseUrl] : [])];
    for (const target of targets) {
      const u = new URL(target!);
      const peer = services[u.hostname];
      t.truthy(peer, `${name}: ${target} names no service`);
      const listens = JSON.stringify(peer.command ?? '').includes(u.port) || portsOf(peer).some((p) => String(p.container) === u.port);
      t.true(listens, `${name}: ${u.hostname} does not listen on ${u.port}`);
      if (u.hostname !== name && c.role === 'member') t.true(dependsOn(s).includes(u.hostname), `${name} depends on ${u.hostname}`);
    }
    if (c.role === 'leader') t.is(c.leaseBackend, 'etcd');
  }
  const [leader] = batonServices.find(([, s]) => envOf(s).BATON_ROLE === 'leader')!;
  const member = batonServices.find(([, s]) => envOf(s).BATON_ROLE === 'member')![1];
  t.not(envOf(member).BATON_POSTGRES_URL, envOf(services[leader]).BATON_POSTGRES_URL, 'the member keeps its own database');
  t.is(envOf(member).BATON_LEASE_BACKEND, envOf(services[leader]).BATON_LEASE_BACKEND, 'the member reads the leaders’ lease');
});

test('deploy/genesis.json is the embedded dev genesis, Prague active at genesis', (t) => {
  t.is(read('deploy/genesis.json'), genesisJson(), 'regenerate with `npx tsx scripts/gen-genesis.ts`');
  const g = JSON.parse(read('deploy/genesis.json'));
  t.is(g.config.pragueTime, 0);
  t.is(g.config.terminalTotalDifficulty, 0);
});

// ---------------------------------------------------------------- Dockerfile

/** `.dockerignore` patterns: a path is excluded by an equal pattern, a directory prefix, or a glob on its segments. */
function dockerIgnored(path: string): boolean {
  const patterns = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  return patterns.some((p) => {
    const re = new RegExp(
      `^${p
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*')}(/|$)`,
    );
    return re.test(path);
  });
}

test('Dockerfile: multi-stage, builds with npm run build, runs dist/cli/main.js as a non-root user with a health check', (t) => {
  const lines = read('Dockerfile')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'));
  const stages: string[][] = [];
  for (const line of lines) {
    if (/^FROM\s/i.test(line)) stages.push([]);
    stages.at(-1)?.push(line);
  }
  t.true(stages.length >= 2, 'multi-stage');
  const [build, runtime] = [stages[0]!.join('\n'), stages.at(-1)!.join('\n')];
  t.regex(build, /RUN npm ci\b/);
  t.regex(build, /RUN npm run build\b/);
  t.regex(runtime, /npm ci --omit=dev/);
  t.regex(runtime, /COPY --from=build \/app\/dist \.\/dist/);
  const user = /^USER\s+(\S+)/m.exec(runtime)?.[1];
  t.truthy(user);
  t.notRegex(user!, /^(root|0)(:|$)/, 'not root');
  t.regex(runtime, /^ENTRYPOINT \["node", "dist\/cli\/main\.js"\]/m);
  t.regex(runtime, /^HEALTHCHECK .*deploy\/healthcheck\.mjs/m);
  // The build's entry is dist/cli/main.js because tsconfig.build.json maps src/ to dist/.
  const buildConfig = JSON.parse(read('tsconfig.build.json'));
  t.is(buildConfig.compilerOptions.rootDir, 'src');
  t.is(buildConfig.compilerOptions.outDir, 'dist');
  t.true(existsSync(join(ROOT, 'src/cli/main.ts')));
  for (const line of lines.filter((l) => /^COPY\s/.test(l) && !l.includes('--from'))) {
    const sources = line.trim().split(/\s+/).slice(1, -1);
    for (const source of sources) {
      t.true(existsSync(join(ROOT, source)), `COPY ${source}: missing`);
      t.false(dockerIgnored(posix.normalize(source)), `COPY ${source}: excluded by .dockerignore`);
    }
  }
  t.true(dockerIgnored('node_modules') && dockerIgnored('.cluster') && dockerIgnored('deploy/jwtsecret.hex'), 'local state stays out of the context');
});

// ---------------------------------------------------------------- k8s/

const API_VERSIONS: Record<string, string> = {
  ServiceAccount: 'v1',
  ConfigMap: 'v1',
  Secret: 'v1',
  Service: 'v1',
  Role: 'rbac.authorization.k8s.io/v1',
  RoleBinding: 'rbac.authorization.k8s.io/v1',
  StatefulSet: 'apps/v1',
  Deployment: 'apps/v1',
  PodDisruptionBudget: 'policy/v1',
};
const manifestFiles = readdirSync(join(ROOT, 'k8s')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const manifests: Dict[] = manifestFiles.flatMap((f) =>
  parseAllDocuments(read(`k8s/${f}`)).map((d) => {
    if (d.errors.length) throw new Error(`k8s/${f}: ${d.errors[0]!.message}`);
    return d.toJS() as Dict;
  }),
);
const named = (kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata.name === name);
const workloads = manifests.filter((m) => m.kind === 'StatefulSet' || m.kind === 'Deployment');
const LEASE = defaultKubernetesLeaseOptions;

test('k8s: every manifest has a known kind, its apiVersion, a name, and the lease namespace; kustomization lists them all', (t) => {
  for (const m of manifests) {
    t.is(m.apiVersion, API_VERSIONS[m.kind], `${m.kind} ${m.metadata?.name}: apiVersion`);
    t.truthy(m.metadata?.name, `${m.kind} has a name`);
    t.is(m.metadata.namespace, LEASE.namespace, `${m.kind} ${m.metadata.name}: namespace`);
  }
  const kustomization = parse(read('k8s/kustomization.yaml')) as Dict;
  t.deepEqual([...kustomization.resources].sort(), [...manifestFiles].sort());
});

test('k8s: the RBAC lets the pods get, create, update and list the leases Baton uses (its own health Lease among them)', (t) => {
  const accounts = new Set(workloads.map((w) => w.spec.template.spec.serviceAccountName));
  for (const account of accounts) {
    t.truthy(named('ServiceAccount', account), `ServiceAccount ${account}`);
    const bindings = manifests.filter(
      (m) => m.kind === 'RoleBinding' && m.subjects.some((s: Dict) => s.kind === 'ServiceAccount' && s.name === account && s.namespace === LEASE.namespace),
    );
    const verbs = new Set<string>();
    for (const b of bindings) {
      const role = named(b.roleRef.kind, b.roleRef.name);
      t.truthy(role, `RoleBinding ${b.metadata.name} → ${b.roleRef.kind} ${b.roleRef.name}`);
      t.is(role!.metadata.namespace, LEASE.namespace, 'the Role is in the Lease’s namespace');
      for (const rule of role!.rules) {
        if (!rule.apiGroups.includes('coordination.k8s.io') || !rule.resources.includes('leases')) continue;
        if (rule.resourceNames && !rule.resourceNames.includes(LEASE.name)) continue;
        for (const v of rule.verbs) verbs.add(v);
      }
    }
    for (const v of ['get', 'create', 'update', 'list']) t.true(verbs.has(v), `${account} may ${v} lease ${LEASE.namespace}/${LEASE.name}`);
  }
});

/** One container's environment as the kubelet builds it: literals with $(VAR) expanded, Secret and ConfigMap references resolved. */
function k8sEnv(t: any, where: string, container: Dict, podName: string): Record<string, string> {
  const env: Record<string, string> = {};
  const data = (kind: 'Secret' | 'ConfigMap', name: string): Dict => {
    const m = named(kind, name);
    t.truthy(m, `${where}: ${kind} ${name} exists`);
    return kind === 'Secret' ? { ...m?.stringData } : { ...m?.data };
  };
  for (const from of container.envFrom ?? []) {
    const [kind, ref] = from.configMapRef ? (['ConfigMap', from.configMapRef] as const) : (['Secret', from.secretRef] as const);
    for (const [k, v] of Object.entries(data(kind, ref.name))) {
      t.true(!k.startsWith('BATON_') || OPTION_ENV.has(k), `${where}: ${kind} ${ref.name} key ${k} is not a Baton option`);
      env[k] = String(v);
    }
  }
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
    if (e.valueFrom?.fieldRef) env[e.name] = e.valueFrom.fieldRef.fieldPath === 'metadata.name' ? podName : 'x';
    else if (ref) {
      const value = data(e.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap', ref.name)[ref.key];
      t.true(value !== undefined || ref.optional === true, `${where}: ${e.name} → ${ref.name}/${ref.key} exists`);
      env[e.name] = String(value ?? '');
    } else env[e.name] = String(e.value).replace(/\$\(([A-Za-z0-9_]+)\)/g, (_, v) => env[v] ?? `$(${v})`);
  }
  return env;
}

test('k8s: a workload per role; every env var is an option and each Baton container configuration parses', (t) => {
  const roles = new Map<string, Dict>();
  for (const w of workloads) {
    const pod = w.spec.template.spec;
    const volumes = new Map<string, Dict>(pod.volumes.map((v: Dict) => [v.name, v]));
    const claims = new Set((w.spec.volumeClaimTemplates ?? []).map((c: Dict) => c.metadata.name));
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      const where = `${w.metadata.name}/${c.name}`;
      for (const e of c.env ?? []) t.true(!e.name.startsWith('BATON_') || OPTION_ENV.has(e.name), `${where}: ${e.name} is not a Baton option`);
      for (const m of c.volumeMounts ?? []) t.true(volumes.has(m.name) || claims.has(m.name), `${where}: volume ${m.name} is declared`);
      const portNames = new Set((c.ports ?? []).map((p: Dict) => p.name));
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe].filter(Boolean)) {
        if (probe.httpGet) t.true(portNames.has(probe.httpGet.port), `${where}: probe port ${probe.httpGet.port}`);
      }
      const env = k8sEnv(t, where, c, `${w.metadata.name}-0`);
      if (!env.BATON_ROLE) continue;
      // The JWT file path → the Secret key mounted there, written to a file so the node can read it.
      const jwtMount = c.volumeMounts.find((m: Dict) => env.BATON_JWT_SECRET_FILE?.startsWith(`${m.mountPath}/`));
      const secretName = volumes.get(jwtMount?.name)?.secret?.secretName;
      t.truthy(secretName, `${where}: BATON_JWT_SECRET_FILE is on a mounted Secret`);
      const jwtFile = join(scratch, `${w.metadata.name}-jwt`);
      writeFileSync(jwtFile, named('Secret', secretName)?.stringData?.[env.BATON_JWT_SECRET_FILE!.slice(jwtMount.mountPath.length + 1)] ?? '');
      const config = configOf({ ...env, BATON_JWT_SECRET_FILE: jwtFile });
      t.is(config.leaseBackend, 'kubernetes', `${where}: the kubernetes lease`);
      t.is(config.instanceId, `${w.metadata.name}-0`, `${where}: the pod name is the instance id`);
      if (config.role === 'leader')
        t.true(config.advertiseUrl?.startsWith(`http://${w.metadata.name}-0.${w.spec.serviceName}.`), `${where}: advertises its pod DNS name`);
      roles.set(config.role, w);
      // The Geth sidecar shares the JWT secret file.
      const geth = [...(pod.initContainers ?? []), ...pod.containers].find((x: Dict) =>
        (x.args ?? []).some((a: string) => a === `--authrpc.jwtsecret=${env.BATON_JWT_SECRET_FILE}`),
      );
      t.truthy(geth, `${where}: an EL reads the same JWT secret file`);
      t.true(geth.args.includes(`--authrpc.port=${new URL(config.ethClientUrl!).port}`), `${where}: BATON_ETH_CLIENT_URL is that EL's Engine API`);
    }
    t.truthy(named('Service', w.spec.serviceName), `${w.metadata.name}: serviceName ${w.spec.serviceName} is a Service`);
  }
  t.deepEqual([...roles.keys()].sort(), ['leader', 'member']);
});

test('k8s: every Service selects pods and targets ports they declare', (t) => {
  for (const s of manifests.filter((m) => m.kind === 'Service')) {
    const pods = workloads.filter((w) => Object.entries(s.spec.selector).every(([k, v]) => w.spec.template.metadata.labels[k] === v));
    t.true(pods.length > 0, `Service ${s.metadata.name} selects a workload`);
    for (const port of s.spec.ports) {
      for (const w of pods) {
        const ports = w.spec.template.spec.containers.flatMap((c: Dict) => c.ports ?? []);
        t.true(
          ports.some((p: Dict) => p.name === port.targetPort || p.containerPort === port.targetPort),
          `Service ${s.metadata.name} port ${port.name} → ${w.metadata.name}`,
        );
      }
    }
  }
});

// ---------------------------------------------------------------- Grafana

test('the Grafana dashboard queries only metrics the code registers, histogram series only of histograms', (t) => {
  const metrics = registeredMetrics();
  t.true(metrics.size > 10, 'metrics found in src');
  const exprs: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if ((k === 'expr' || k === 'query' || k === 'definition') && typeof v === 'string') exprs.push(v);
        else walk(v);
      }
    }
  };
  walk(JSON.parse(read('deploy/grafana-dashboard.json')));
  const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\bbaton_[a-z0-9_]+/g)].map((m) => m[0])));
  t.true(used.size > 10, 'the dashboard uses the metrics');
  for (const series of used) t.truthy(metricOfSeries(series, metrics), `${series} is not a metric the code registers`);
});
