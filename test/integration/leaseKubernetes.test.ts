import { randomBytes } from 'node:crypto';
import test from 'ava';
import { pino } from 'pino';
import { createLeaseBackend, KubernetesLease } from '../../src/adapters/lease/index.js';
import { FakeKubeApiServer } from '../helpers/fakeKubeApiServer.js';
import { leaseConformance } from './leaseConformance.js';

const logger = pino({ level: 'silent' });
const signal = (): AbortSignal => new AbortController().signal;

leaseConformance({
  name: 'kubernetes (FAKE API server)',
  // leaseDurationSeconds is whole seconds: a 300 ms TTL would become 1 s and the expiry test would wait for the wrong time.
  shortTtlMs: 1_000,
  async create() {
    const server = await FakeKubeApiServer.start();
    const name = `leader-${randomBytes(6).toString('hex')}`;
    return {
      backend: () => new KubernetesLease({ namespace: 'baton', name }, { logger, kubeConfig: server.kubeConfig() }),
      async stall() {
        const resume = server.stall();
        return async () => resume();
      },
      close: () => server.close(),
    };
  },
});

test.serial('kubernetes (FAKE API server): the Lease object carries holder, transitions, duration and meta annotations', async (t) => {
  const server = await FakeKubeApiServer.start();
  try {
    const a = createLeaseBackend({ backend: 'kubernetes', namespace: 'ops', name: 'baton' }, { logger, kubeConfig: server.kubeConfig() });
    t.true(a instanceof KubernetesLease);
    const g = await a.tryAcquire('node-a', 1_500, signal(), { apiUrl: 'http://a:8090' });
    t.deepEqual(g, { epoch: 1n });
    const stored = server.leases.get('ops/baton');
    t.is(stored?.spec?.holderIdentity, 'node-a');
    t.is(stored?.spec?.leaseTransitions, 1);
    t.is(stored?.spec?.leaseDurationSeconds, 2, '1 500 ms rounds up to 2 s');
    t.regex(String(stored?.spec?.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'renewTime is a MicroTime');
    t.deepEqual(stored?.metadata.annotations, { 'meta.baton.dev/apiUrl': 'http://a:8090' });
    await a.release('node-a', g ?? { epoch: 0n });
    const released = server.leases.get('ops/baton');
    t.is(released?.spec?.holderIdentity, undefined);
    t.is(released?.spec?.leaseTransitions, 1, 'release keeps the epoch');
    t.deepEqual(released?.metadata.annotations, {});
    t.deepEqual(await a.tryAcquire('node-a', 1_000, signal()), { epoch: 2n }, 'a re-acquisition by the same id is a new transition');
  } finally {
    await server.close();
  }
});

test.serial('kubernetes (FAKE API server): a racing create and a stale replace both lose with 409, never two holders', async (t) => {
  const server = await FakeKubeApiServer.start();
  try {
    const nodes = Array.from({ length: 5 }, () => new KubernetesLease({ namespace: 'ops', name: 'race' }, { logger, kubeConfig: server.kubeConfig() }));
    // All five read "missing" (their GETs are held, then answered together) and POST: the fake
    // answers 409 AlreadyExists to four.
    let resume = server.stall();
    const racing = Promise.all(nodes.map((b, i) => b.tryAcquire(`node-${i}`, 1_000, signal())));
    await server.waitForHeld(5);
    resume();
    const grants = await racing;
    t.is(grants.filter(Boolean).length, 1);
    t.is(server.log.filter((l) => l.startsWith('POST') && l.endsWith('409')).length, 4, server.log.join('\n'));
    // After expiry all five read the same resourceVersion and PUT: one wins, the others get 409 Conflict.
    await new Promise((r) => setTimeout(r, 1_050));
    resume = server.stall();
    const racingAgain = Promise.all(nodes.map((b, i) => b.tryAcquire(`node-${i}`, 10_000, signal())));
    await server.waitForHeld(5);
    resume();
    const next = await racingAgain;
    const winners = next.filter(Boolean);
    t.is(winners.length, 1);
    t.deepEqual(winners[0], { epoch: 2n });
    t.is(server.log.filter((l) => l.startsWith('PUT') && l.endsWith('409')).length, 4, 'the stale replaces were refused');
  } finally {
    await server.close();
  }
});
