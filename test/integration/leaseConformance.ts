import { setTimeout as sleep } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import { type Grant, type LeaseBackend, LeaseError } from '../../src/adapters/lease/index.js';
import type { NodeHealthRecord } from '../../src/types/health.js';

/**
 * The LeaseBackend contract (DESIGN §3), written once and run against every backend: redis and
 * file now, postgres, etcd and kubernetes when they exist. A backend passes by supplying a harness.
 */
export interface LeaseHarness {
  /** A new backend instance on this harness's lease, as a separate node would have (own connection). */
  backend(): LeaseBackend;
  /** Makes every request of `backend` hang until the returned function is called. */
  stall(backend: LeaseBackend): Promise<() => Promise<void>>;
  /** Closes connections and deletes the lease state. */
  close(): Promise<void>;
}

export interface LeaseHarnessFactory {
  name: string;
  /** A harness on a fresh, free lease. */
  create(): Promise<LeaseHarness>;
  /**
   * The TTL of the expiry tests (default 300 ms). Backends whose TTLs are whole seconds (etcd,
   * kubernetes) pass 1000, so the lease really expires after the TTL the test waits for.
   */
  shortTtlMs?: number;
  /**
   * How late after its TTL an expired lease may be granted to the next node (default 500 ms).
   * etcd revokes expired leases from a 500 ms loop on its leader, so it needs more.
   */
  expirySlackMs?: number;
  /** False for a one-node backend (file) that shares no health records; every multi-node backend shares them. */
  sharesHealth?: boolean;
}

const signal = (): AbortSignal => new AbortController().signal;

/** Short enough to keep the suite fast, long enough that a loaded CI machine does not expire it by accident. */
const DEFAULT_SHORT_TTL = 300;
/** The default grace after a TTL within which an expired lease must be granted to the next node. */
const DEFAULT_EXPIRY_SLACK = 500;
/** A lease that must not expire during a test: anything relying on it would wait 10 s and time out. */
const LONG_TTL = 10_000;

async function expectAborted(t: ExecutionContext, p: Promise<unknown>, what: string): Promise<void> {
  const err = await t.throwsAsync(p, { instanceOf: LeaseError }, what);
  t.is(err?.code, 'LEASE_ABORTED', what);
}

/** Polls `tryAcquire` until it grants or `deadlineMs` passes. */
async function acquireWithin(b: LeaseBackend, id: string, ttlMs: number, deadlineMs: number): Promise<Grant | null> {
  const end = performance.now() + deadlineMs;
  for (;;) {
    const g = await b.tryAcquire(id, ttlMs, signal());
    if (g || performance.now() > end) return g;
    await sleep(10);
  }
}

export function leaseConformance(factory: LeaseHarnessFactory): void {
  const SHORT_TTL = factory.shortTtlMs ?? DEFAULT_SHORT_TTL;
  const EXPIRY_SLACK = factory.expirySlackMs ?? DEFAULT_EXPIRY_SLACK;
  const it = (title: string, fn: (t: ExecutionContext, h: LeaseHarness) => Promise<void>): void => {
    // Serial: the TTL-based tests measure time, and contention tests would skew each other.
    test.serial(`${factory.name}: ${title}`, async (t) => {
      const h = await factory.create();
      try {
        await fn(t, h);
      } finally {
        await h.close();
      }
    });
  };

  it('current() is null when free and reports holder, epoch and meta when held', async (t, h) => {
    const [a, b] = [h.backend(), h.backend()];
    t.is(await b.current(signal()), null);
    const g = await a.tryAcquire('node-a', LONG_TTL, signal(), { apiUrl: 'http://10.0.0.1:8090' });
    if (!g) return t.fail('a free lease was not granted');
    t.deepEqual(await b.current(signal()), { holder: 'node-a', epoch: g.epoch, meta: { apiUrl: 'http://10.0.0.1:8090' } });
    await a.release('node-a', g);
    t.is(await b.current(signal()), null);
    const g2 = await b.tryAcquire('node-b', LONG_TTL, signal());
    t.deepEqual(await a.current(signal()), { holder: 'node-b', epoch: g2?.epoch }, 'no meta left from the previous holder');
  });

  it('a held lease is refused to others and to the holder itself', async (t, h) => {
    const [a, b] = [h.backend(), h.backend()];
    const g = await a.tryAcquire('node-a', LONG_TTL, signal());
    t.truthy(g);
    t.is(await b.tryAcquire('node-b', LONG_TTL, signal()), null);
    t.is(await a.tryAcquire('node-a', LONG_TTL, signal()), null);
    t.is((await b.current(signal()))?.epoch, g?.epoch, 'the refused attempts did not move the epoch');
  });

  it('all contenders racing on a free lease: exactly one wins, every round', async (t, h) => {
    const nodes = Array.from({ length: 6 }, () => h.backend());
    let last = 0n;
    for (let round = 0; round < 20; round++) {
      const grants = await Promise.all(nodes.map((b, i) => b.tryAcquire(`node-${i}`, LONG_TTL, signal())));
      const winners = grants.flatMap((g, i) => (g ? [{ i, g }] : []));
      t.is(winners.length, 1, `round ${round}: ${winners.length} winners`);
      const w = winners[0];
      if (!w) continue;
      t.true(w.g.epoch > last, `round ${round}: epoch ${w.g.epoch} after ${last}`);
      last = w.g.epoch;
      await nodes[w.i]?.release(`node-${w.i}`, w.g);
    }
  });

  it('mutual exclusion under contention: never two holders, epochs strictly increasing', async (t, h) => {
    const nodes = Array.from({ length: 6 }, () => h.backend());
    let active: string | null = null;
    const epochs: bigint[] = [];
    const holders = new Set<string>();
    const violations: string[] = [];
    const until = performance.now() + 1_500;
    await Promise.all(
      nodes.map(async (b, i) => {
        const id = `node-${i}`;
        while (performance.now() < until) {
          const g = await b.tryAcquire(id, LONG_TTL, signal());
          if (!g) {
            await sleep(Math.random() * 5);
            continue;
          }
          if (active !== null) violations.push(`${id} acquired epoch ${g.epoch} while ${active} held`);
          active = id;
          epochs.push(g.epoch);
          holders.add(id);
          await sleep(Math.random() * 10);
          if ((await b.renew(id, g, LONG_TTL, signal())) === null) violations.push(`${id} could not renew its live grant`);
          active = null;
          await b.release(id, g);
        }
      }),
    );
    t.deepEqual(violations, []);
    t.true(epochs.length >= 10, `only ${epochs.length} acquisitions`);
    t.true(holders.size >= 2, `only ${[...holders].join()} ever held`);
    for (let i = 1; i < epochs.length; i++) {
      t.true((epochs[i] as bigint) > (epochs[i - 1] as bigint), `epoch #${i} ${epochs[i]} after ${epochs[i - 1]}`);
    }
  });

  it('release lets the next holder in at once, with a higher epoch', async (t, h) => {
    const [a, b] = [h.backend(), h.backend()];
    const ga = await a.tryAcquire('node-a', LONG_TTL, signal());
    if (!ga) return t.fail('not granted');
    t.is(await b.tryAcquire('node-b', LONG_TTL, signal()), null);
    await a.release('node-a', ga);
    const gb = await b.tryAcquire('node-b', LONG_TTL, signal());
    t.truthy(gb, 'the first attempt after release wins');
    t.true((gb?.epoch ?? 0n) > ga.epoch);
  });

  it('an expired lease lets the next holder in after the TTL, not before', async (t, h) => {
    const [a, b] = [h.backend(), h.backend()];
    const started = performance.now();
    const ga = await a.tryAcquire('node-a', SHORT_TTL, signal());
    if (!ga) return t.fail('not granted');
    await sleep(SHORT_TTL / 2);
    t.is(await b.tryAcquire('node-b', SHORT_TTL, signal()), null, 'still held at half the TTL');
    const gb = await acquireWithin(b, 'node-b', LONG_TTL, SHORT_TTL + EXPIRY_SLACK + 1_000);
    const elapsed = performance.now() - started;
    t.truthy(gb, 'granted after expiry');
    t.true(elapsed >= SHORT_TTL - 20, `granted after ${elapsed.toFixed(0)} ms`);
    t.true(elapsed <= SHORT_TTL + EXPIRY_SLACK, `granted only after ${elapsed.toFixed(0)} ms`);
    t.true((gb?.epoch ?? 0n) > ga.epoch);
    t.is((await a.current(signal()))?.holder, 'node-b');
  });

  it('renew extends the lease past its first TTL', async (t, h) => {
    const [a, b] = [h.backend(), h.backend()];
    const ga = await a.tryAcquire('node-a', SHORT_TTL, signal());
    if (!ga) return t.fail('not granted');
    await sleep(SHORT_TTL * 0.6);
    t.deepEqual(await a.renew('node-a', ga, SHORT_TTL, signal()), ga);
    await sleep(SHORT_TTL * 0.6);
    t.is(await b.tryAcquire('node-b', SHORT_TTL, signal()), null, 'held past the first TTL');
    t.is((await b.current(signal()))?.holder, 'node-a');
  });

  it('a stale holder can neither renew nor release after another acquired', async (t, h) => {
    const [a, b] = [h.backend(), h.backend()];
    const ga = await a.tryAcquire('node-a', SHORT_TTL, signal());
    if (!ga) return t.fail('not granted');
    const gb = await acquireWithin(b, 'node-b', LONG_TTL, SHORT_TTL + EXPIRY_SLACK + 1_000);
    if (!gb) return t.fail('not granted after expiry');
    t.is(await a.renew('node-a', ga, LONG_TTL, signal()), null);
    await a.release('node-a', ga);
    t.deepEqual(await a.current(signal()), { holder: 'node-b', epoch: gb.epoch });
  });

  it('a renew of an older grant fails even when the same id re-acquired', async (t, h) => {
    const a = h.backend();
    const g1 = await a.tryAcquire('node-a', SHORT_TTL, signal());
    if (!g1) return t.fail('not granted');
    await sleep(SHORT_TTL + 50);
    // A backend that revokes expired leases asynchronously (etcd) may still show g1 for a moment.
    if (EXPIRY_SLACK > DEFAULT_EXPIRY_SLACK) await sleep(EXPIRY_SLACK);
    t.is(await a.renew('node-a', g1, SHORT_TTL, signal()), null, 'an expired grant does not renew');
    const g2 = await a.tryAcquire('node-a', LONG_TTL, signal());
    if (!g2) return t.fail('not re-granted');
    t.true(g2.epoch > g1.epoch);
    t.is(await a.renew('node-a', g1, LONG_TTL, signal()), null, 'the old grant is dead');
    await a.release('node-a', g1);
    t.is((await a.current(signal()))?.epoch, g2.epoch, 'releasing the old grant kept the new one');
    t.deepEqual(await a.renew('node-a', g2, LONG_TTL, signal()), g2);
  });

  it('an already-aborted signal rejects without touching the lease', async (t, h) => {
    const a = h.backend();
    const ac = new AbortController();
    ac.abort(new Error('shutting down'));
    await expectAborted(t, a.tryAcquire('node-a', LONG_TTL, ac.signal), 'tryAcquire');
    await expectAborted(t, a.current(ac.signal), 'current');
    t.is(await a.current(signal()), null, 'nothing was acquired');
    const g = await a.tryAcquire('node-a', LONG_TTL, signal());
    if (!g) return t.fail('not granted');
    await expectAborted(t, a.renew('node-a', g, LONG_TTL, ac.signal), 'renew');
    await t.throwsAsync(a.tryAcquire('node-a', 0, signal()), { instanceOf: RangeError });
  });

  it('an abort during a hung request rejects promptly and leaks no lease', async (t, h) => {
    const [a, b] = [h.backend(), h.backend()];
    const resume = await h.stall(a);
    const ac = new AbortController();
    let settled = false;
    const pending = a.tryAcquire('node-a', LONG_TTL, ac.signal).finally(() => (settled = true));
    await sleep(50);
    t.false(settled, 'the stalled request is still in flight');
    const abortedAt = performance.now();
    ac.abort(new Error('stop'));
    await expectAborted(t, pending, 'tryAcquire');
    const took = performance.now() - abortedAt;
    t.true(took < 100, `rejected ${took.toFixed(0)} ms after the abort`);
    await resume();
    // If the request went through after the abort, its grant must be released, not left to its 10 s TTL.
    const gb = await acquireWithin(b, 'node-b', LONG_TTL, 2_000);
    t.truthy(gb, "another node acquires well before the aborted request's TTL");
  });

  const record = (id: string, ready: boolean): NodeHealthRecord => ({
    id,
    ready,
    healthy: ready,
    reasons: ready ? [] : ['execution client unreachable'],
    elHead: '7',
    committedHead: '7',
    paused: false,
    at: Date.now(),
  });

  if (factory.sharesHealth === false) {
    it('shares no health records: a one-node backend never shows a standby', async (t, h) => {
      t.is(h.backend().publishHealth, undefined);
      t.is(h.backend().healthRecords, undefined);
    });
    return;
  }

  it('health: a record one node publishes is what the others read, and a republish replaces it', async (t, h) => {
    const [a, b, reader] = [h.backend(), h.backend(), h.backend()];
    if (!a.publishHealth || !reader.healthRecords) return t.fail('a multi-node backend shares health records');
    t.deepEqual(await reader.healthRecords(signal()), []);
    await a.publishHealth(record('node-a', false), LONG_TTL, signal());
    await b.publishHealth!(record('node-b', true), LONG_TTL, signal());
    const byId = (list: NodeHealthRecord[]) => Object.fromEntries(list.map((r) => [r.id, r]));
    const read = byId(await reader.healthRecords(signal()));
    t.deepEqual(Object.keys(read).sort(), ['node-a', 'node-b']);
    t.deepEqual(read['node-a'], { ...record('node-a', false), at: read['node-a']!.at }, 'every field as published');
    t.true(read['node-b']!.ready);
    await a.publishHealth(record('node-a', true), LONG_TTL, signal());
    const again = byId(await reader.healthRecords(signal()));
    t.true(again['node-a']!.ready, 'the newer record replaced the older one');
    t.is(Object.keys(again).length, 2);
  });

  it('health: a record that is not republished within its TTL is no longer listed', async (t, h) => {
    const [a, b] = [h.backend(), h.backend()];
    await a.publishHealth!(record('node-a', true), SHORT_TTL, signal());
    await b.publishHealth!(record('node-b', true), LONG_TTL, signal());
    t.deepEqual((await b.healthRecords!(signal())).map((r) => r.id).sort(), ['node-a', 'node-b']);
    await sleep(SHORT_TTL + EXPIRY_SLACK);
    t.deepEqual(
      (await b.healthRecords!(signal())).map((r) => r.id),
      ['node-b'],
      "node-a's record expired with its TTL",
    );
  });
}
