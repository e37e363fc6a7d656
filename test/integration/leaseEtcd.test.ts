import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { Etcd3 } from 'etcd3';
import { pino } from 'pino';
import { createLeaseBackend, EtcdLease, type Grant, openLeaseBackend } from '../../src/adapters/lease/index.js';
import { EtcdCluster } from '../helpers/etcdCluster.js';
import { leaseConformance } from './leaseConformance.js';

const logger = pino({ level: 'silent' });
// One single-member etcd for the conformance suite, started lazily and stopped after the file.
let single: Promise<EtcdCluster> | undefined;
const cluster = (): Promise<EtcdCluster> => (single ??= EtcdCluster.start(1));
test.after.always(async () => {
  if (single) await (await single).stop();
});

const signal = (): AbortSignal => new AbortController().signal;

leaseConformance({
  name: 'etcd',
  // etcd leases count whole seconds (the helper's 500 ms election timeout makes 1 s the minimum)
  // and are revoked by a 500 ms loop on the etcd leader.
  shortTtlMs: 1_000,
  expirySlackMs: 1_000,
  async create() {
    const etcd = await cluster();
    const prefix = `baton-test/${randomBytes(6).toString('hex')}`;
    const backends: EtcdLease[] = [];
    return {
      backend() {
        const b = new EtcdLease({ endpoints: etcd.endpoints, prefix }, { logger });
        backends.push(b);
        return b;
      },
      async stall() {
        // A frozen etcd keeps its connections open and answers nothing.
        etcd.pause(0);
        return async () => etcd.resume(0);
      },
      async close() {
        const admin = new Etcd3({ hosts: etcd.endpoints });
        await admin.delete().prefix(prefix);
        admin.close();
        await Promise.all(backends.map((b) => b.close()));
      },
    };
  },
});

test.serial("etcd: createLeaseBackend dials --etcd-endpoints; the epoch is the key's create revision", async (t) => {
  const etcd = await cluster();
  const prefix = `baton-test/${randomBytes(6).toString('hex')}`;
  const a = createLeaseBackend({ backend: 'etcd', endpoints: etcd.endpoints, prefix }, { logger }) as EtcdLease;
  const admin = new Etcd3({ hosts: etcd.endpoints });
  try {
    t.true(a instanceof EtcdLease);
    const g = await a.tryAcquire('node-a', 5_000, signal(), { apiUrl: 'http://a' });
    if (!g) return t.fail('not granted');
    const res = await admin.get(`${prefix}/leader`).exec();
    t.is(res.kvs[0]?.create_revision, g.epoch.toString());
    const lease = res.kvs[0]?.lease ?? '0';
    const ttl = await admin.leaseClient.leaseTimeToLive({ ID: lease });
    t.is(ttl.grantedTTL, '5', '5 000 ms became a 5 s etcd lease');
    await a.release('node-a', g);
    t.is((await admin.get(`${prefix}/leader`).exec()).kvs.length, 0, 'release deleted the key');
    t.throws(() => createLeaseBackend({ backend: 'etcd', endpoints: [] }, { logger }), { message: /etcd-endpoints/ });
  } finally {
    await a.close();
    admin.close();
  }
});

test.serial('etcd: 3 members; the lease and its epoch survive killing the Raft leader, and fencing continues', async (t) => {
  const etcd = await EtcdCluster.start(3);
  const prefix = `baton-test/${randomBytes(6).toString('hex')}`;
  const [a, b] = [0, 1].map(() => new EtcdLease({ endpoints: etcd.endpoints, prefix }, { logger })) as [EtcdLease, EtcdLease];
  try {
    const ga = await a.tryAcquire('node-a', 3_000, signal(), { apiUrl: 'http://a' });
    if (!ga) return t.fail('not granted');
    const leader = await etcd.leader();
    t.true(leader >= 0, 'a Raft leader is known');
    await etcd.kill(leader);

    // Renew through the surviving members until a new Raft leader is elected (about one election timeout).
    let renewed: Grant | null = null;
    const end = performance.now() + 2_500;
    while (!renewed && performance.now() < end) {
      renewed = await a.renew('node-a', ga, 3_000, AbortSignal.timeout(1_000)).catch(() => null);
      if (!renewed) await sleep(100);
    }
    t.deepEqual(renewed, ga, 'the holder renews through a surviving member');
    const newLeader = await etcd.leader();
    t.true(newLeader >= 0 && newLeader !== leader, `new Raft leader ${newLeader} after killing ${leader}`);
    t.deepEqual(await b.current(signal()), { holder: 'node-a', epoch: ga.epoch, meta: { apiUrl: 'http://a' } });
    t.is(await b.tryAcquire('node-b', 3_000, signal()), null, 'still held');

    await etcd.restart(leader);
    await a.release('node-a', ga);
    const gb = await b.tryAcquire('node-b', 3_000, signal());
    t.true((gb?.epoch ?? 0n) > ga.epoch, "the next holder's epoch is higher");
    t.is(await a.renew('node-a', ga, 3_000, signal()), null, 'the released grant is dead');
  } finally {
    await Promise.all([a.close(), b.close()]);
    await etcd.stop();
  }
});

test('start-up: an etcd that is reachable but answers nothing yet is asked again until it answers; a refused one fails at once', async (t) => {
  const etcd = await EtcdCluster.start(1);
  t.teardown(() => etcd.stop());
  const warnings: string[] = [];
  const recording = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line).msg) });
  etcd.pause(0);
  setTimeout(() => etcd.resume(0), 7_000);
  const started = performance.now();
  const opened = await openLeaseBackend({ backend: 'etcd', etcdEndpoints: etcd.endpoints, redisPrefix: 'unused', filePath: 'unused' }, { logger: recording });
  t.teardown(() => opened.close());
  t.true(performance.now() - started >= 7_000, 'it waited for the frozen etcd');
  t.true(warnings.includes('Lease backend reachable but not answering yet; asking again'), 'and said so');
  t.is(await opened.backend.current(AbortSignal.timeout(5_000)), null, 'the opened backend answers');

  const refusedAt = performance.now();
  const err = await t.throwsAsync(
    openLeaseBackend({ backend: 'etcd', etcdEndpoints: ['http://127.0.0.1:1'], redisPrefix: 'unused', filePath: 'unused' }, { logger: recording }),
  );
  t.regex(err!.message, /the etcd lease backend does not answer: .*ECONNREFUSED/);
  t.true(performance.now() - refusedAt < 5_000, 'nothing listening is not waited for');
});
