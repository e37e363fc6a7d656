/**
 * The Syncer as the node wires it (with its Executor, on the in-memory EL and store): one tick
 * loop however often it is woken, and a stall while following never outlives following.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import type { SyncerMsg } from '../../../src/actors/messages.js';
import { actors } from '../../../src/node/tree.js';
import { standIn, testNode } from '../../helpers/actorTree.js';
import { waitFor } from '../../helpers/batonProcess.js';

/** A "leader" whose API answers every request with HTTP 500, counting them. */
async function brokenLeader(): Promise<{ url: string; requests: () => number; server: Server }> {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests, server };
}

const ticks = (history: { kind: string; patch?: object }[]) => history.filter((e) => e.kind === 'sync' && e.patch && 'source' in e.patch).length;

test('chaos: woken twenty times while it idles, the Syncer still runs one tick loop (not one per wake)', async (t) => {
  const node = testNode(t, ['--role', 'member', '--instance-id', 'member-a']);
  const sup = await node.start([node.spec('executor'), node.spec('syncer')]);
  await waitFor('the first tick', async () => ticks(node.report.history) > 0, 5_000, 20);
  for (let i = 0; i < 20; i++) {
    sup.send<SyncerMsg>(actors.syncer, { type: 'notLeading' });
    await new Promise((r) => setTimeout(r, 60)); // between the idle ticks (250 ms apart), so each wake finds no tick pending
  }
  const before = ticks(node.report.history);
  await new Promise((r) => setTimeout(r, 2_000));
  const during = ticks(node.report.history) - before;
  // One loop idles at 250 ms: about 8 ticks in 2 s; one loop per wake would be ~20 times that.
  t.true(during <= 12, `${during} ticks in 2 s`);
  t.true(during >= 4, `${during} ticks in 2 s: the loop goes on`);
});

test('chaos: a standby whose syncing stalled drops the problem once it leads (its /health is the leader’s)', async (t) => {
  const leader = await brokenLeader();
  t.teardown(() => leader.server.close());
  const node = testNode(t, ['--role', 'leader', '--instance-id', 'node-b', '--leader-url', leader.url]);
  // The Elector a standby's Syncer asks where leadership stands: the test answers for it below.
  const elector = standIn(actors.elector);
  const sup = await node.start([elector.spec, node.spec('executor'), node.spec('syncer')]);
  sup.send<SyncerMsg>(actors.syncer, { type: 'notLeading' });
  await waitFor('syncing stalled', async () => /syncing stalled/.test(node.report.current.problems.sync ?? ''), 10_000, 20);
  sup.send<SyncerMsg>(actors.syncer, { type: 'leadershipAcquired', epoch: 2n, validUntil: performance.now() + 60_000 });
  await waitFor('the sync problem gone', async () => node.report.current.problems.sync === undefined, 10_000, 20);
  const requestsWhenLeading = leader.requests();
  await new Promise((r) => setTimeout(r, 1_000));
  t.is(node.report.current.problems.sync, undefined, 'and it stays gone while leading');
  t.is(leader.requests(), requestsWhenLeading, 'a leader follows nobody');
});
