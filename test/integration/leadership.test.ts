import test from 'ava';
import { headOf, producing, waitFor } from '../helpers/batonProcess.js';
import { rpcRequest } from '../helpers/services.js';
import { twoLeaders } from '../helpers/twoLeaders.js';

/**
 * Leadership operations on two leader-capable nodes sharing Redis and PostgreSQL: the admin
 * JSON-RPC surface (auth, pause/resume, transfer refusals) and the graceful SIGTERM handoff. The
 * lease TTL is long (10 s) on purpose: a takeover well inside it proves the old leader released
 * the lease rather than letting it expire.
 */
const LEASE_TTL_MS = 10_000;
const ADMIN_TOKEN = 'test-admin-token-0123456789';
/** What an admin sends with each JSON-RPC request. */
const ADMIN = { token: ADMIN_TOKEN };
const { nodes } = twoLeaders({ leaseTtlMs: LEASE_TTL_MS, args: ['--admin-token', ADMIN_TOKEN], leads: producing });

test.serial('admin methods need the bearer token; bad JSON-RPC gets typed errors and the node keeps serving', async (t) => {
  const a = nodes.a!;
  const none = await rpcRequest(a, 'baton_leader');
  t.is(none.status, 401);
  t.is(none.body.error?.code, -32001);
  const wrong = await rpcRequest(a, 'baton_leader', [], { token: 'not-the-token' });
  t.is(wrong.status, 401);
  t.is(wrong.body.error?.code, -32001);

  const unknown = await rpcRequest(a, 'baton_noSuchMethod', [], ADMIN);
  t.is(unknown.body.error?.code, -32601);
  const badJson = await fetch(`${a.apiUrl}/rpc`, { method: 'POST', body: '{"jsonrpc":"2.0",' });
  t.is(((await badJson.json()) as any).error.code, -32700);
  const notRequest = await fetch(`${a.apiUrl}/rpc`, { method: 'POST', body: '"hello"' });
  t.is(((await notRequest.json()) as any).error.code, -32600);
  const badParams = await rpcRequest(a, 'baton_transferLeadership', { instanceId: 42 }, ADMIN);
  t.is(badParams.body.error?.code, -32602);
  const chaosOff = await rpcRequest(a, 'baton_chaos', { fault: 'throw', actor: 'builder' }, ADMIN);
  t.is(chaosOff.body.error?.code, -32000, 'crash injection is refused on a node without --chaos');
  t.regex(chaosOff.body.error?.message ?? '', /--chaos/);

  const batch = await fetch(`${a.apiUrl}/rpc`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'baton_leader' },
      { jsonrpc: '2.0', id: 2, method: 'nope' },
    ]),
  });
  const answers = (await batch.json()) as any[];
  t.deepEqual(answers.map((r) => r.id).sort(), [1, 2]);
  t.is(answers.find((r) => r.id === 1).result.holder, 'node-a');
  t.is(answers.find((r) => r.id === 2).error.code, -32601);
  t.true(await producing(a), 'still producing after the bad requests');
});

test.serial('baton_leader names the holder, its epoch and the backend, from any node', async (t) => {
  const fromA = (await rpcRequest(nodes.a!, 'baton_leader', [], ADMIN)).body.result;
  const fromB = (await rpcRequest(nodes.b!, 'baton_leader', [], ADMIN)).body.result;
  t.is(fromA.holder, 'node-a');
  t.is(fromA.backend, 'redis');
  t.is(fromA.apiUrl, nodes.a!.apiUrl);
  t.true(fromA.isLeader);
  t.is(fromB.holder, 'node-a');
  t.is(fromB.epoch, fromA.epoch);
  t.false(fromB.isLeader);
});

test.serial('baton_transferLeadership is refused with a reason: not the leader, wrong target, target behind', async (t) => {
  const a = nodes.a!;
  const b = nodes.b!;
  const notLeader = await rpcRequest(b, 'baton_transferLeadership', { instanceId: 'node-a', url: a.apiUrl }, ADMIN);
  t.is(notLeader.body.error?.code, -32000);
  t.regex(notLeader.body.error?.message ?? '', /not the leader; node-a is/);
  const wrongName = await rpcRequest(a, 'baton_transferLeadership', { instanceId: 'node-z', url: b.apiUrl }, ADMIN);
  t.regex(wrongName.body.error?.message ?? '', /the node at that URL is node-b/);
  const self = await rpcRequest(a, 'baton_transferLeadership', { instanceId: 'node-a', url: a.apiUrl }, ADMIN);
  t.regex(self.body.error?.message ?? '', /already leads/);
  const behind = await rpcRequest(a, 'baton_transferLeadership', { instanceId: 'node-b', url: b.apiUrl }, ADMIN);
  t.regex(behind.body.error?.message ?? '', /node-b cannot take over: its execution client is at block \d+, behind the committed head \d+/);
  const unreachable = await rpcRequest(a, 'baton_transferLeadership', { instanceId: 'node-b', url: 'http://127.0.0.1:1' }, ADMIN);
  t.regex(unreachable.body.error?.message ?? '', /cannot read http:\/\/127\.0\.0\.1:1\/status/);
  t.true(await producing(a), 'a refused transfer changes nothing');
});

test.serial('baton_pause releases at once and the standby takes over; the paused node does not campaign until baton_resume', async (t) => {
  const a = nodes.a!;
  const b = nodes.b!;
  const paused = await rpcRequest(a, 'baton_pause', [], ADMIN);
  t.deepEqual(paused.body.result, { paused: true });
  const pausedAt = Date.now();
  await waitFor('node-b takes over', () => producing(b), 30_000);
  const tookOverMs = Date.now() - pausedAt;
  t.log(`takeover after pause: ${tookOverMs} ms (lease TTL ${LEASE_TTL_MS} ms)`);
  t.true(tookOverMs < LEASE_TTL_MS, 'released, not expired');
  try {
    const h = await a.health();
    t.true(h.body.paused);
    t.false(h.body.isLeader);
    t.regex(h.body.notCampaigning, /paused/);
    // node-a reads the holder from the backend on its probe's next round.
    await waitFor('node-a sees node-b as the holder', async () => (await a.health()).body.election.holder === 'node-b', 10_000);
  } finally {
    await rpcRequest(a, 'baton_resume', [], ADMIN);
  }
  await waitFor(
    'node-a campaigns again',
    async () => {
      const h2 = await a.health();
      return !h2.body.paused && h2.body.notCampaigning === null;
    },
    10_000,
  );
  t.false((await a.health()).body.isLeader, 'resuming does not take the lease from a healthy holder');
});

test.serial('baton_transferLeadership hands over to a healthy, caught-up standby', async (t) => {
  const a = nodes.a!;
  const b = nodes.b!;
  t.true(await producing(b));
  await waitFor(
    'node-a caught up as standby',
    async () => {
      const [ha, hb] = await Promise.all([a.health(), b.health()]);
      return ha.body.elHead && BigInt(ha.body.elHead.number) + 1n >= BigInt(hb.body.head.number);
    },
    30_000,
  );
  const before = (await rpcRequest(b, 'baton_leader', [], ADMIN)).body.result;
  const answer = await rpcRequest(b, 'baton_transferLeadership', { instanceId: 'node-a', url: a.apiUrl }, ADMIN);
  t.is(answer.body.error, undefined, JSON.stringify(answer.body.error));
  t.is(answer.body.result.to, 'node-a');
  t.true(answer.body.result.transferred);
  t.true(BigInt(answer.body.result.epoch) > BigInt(before.epoch), 'a new epoch fences the old leader');
  await waitFor('node-a produces', () => producing(a), 30_000);
  t.false((await b.health()).body.isLeader);
});

test.serial('graceful SIGTERM: the leader releases and the standby produces the next block long before the lease could expire', async (t) => {
  const b = nodes.a!;
  const a = nodes.b!;
  t.true(await producing(b));
  const headBefore = await headOf(b);
  const stoppedAt = Date.now();
  const stopping = b.stop();
  const nextBlockAt = await waitFor(
    'node-a commits the next block',
    async () => ((await headOf(a)) > headBefore && (await producing(a)) ? Date.now() : undefined),
    30_000,
    50,
  );
  const handoffMs = nextBlockAt - stoppedAt;
  t.log(`SIGTERM → next block by the standby: ${handoffMs} ms (lease TTL ${LEASE_TTL_MS} ms)`);
  t.true(handoffMs < LEASE_TTL_MS, 'released, not expired');
  t.is((await stopping).code, 0, 'a SIGTERM exit is clean');
  nodes.a = null;
});
