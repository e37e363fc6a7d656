/**
 * The nested supervision tree on a running node: a crashed or hung Builder or Publisher is
 * restarted in the same term (same epoch, lease untouched) and production goes on; an Elector
 * crash restarts the leader subtree and releases the lease (a new term). Faults come through the
 * node's own crash injection (`--chaos`, `baton_chaos`).
 */
import test from 'ava';
import { type BatonProcess, startBaton, waitFor } from '../helpers/batonProcess.js';

const ADMIN_TOKEN = 'supervision-test-token';
let node: BatonProcess;

interface Health {
  epoch: number | null;
  holder: string | null;
  head: { number: number } | null;
  actors: Record<string, { restarts: number }>;
  producer: { state: string };
}

const health = async (): Promise<Health> => (await node.health()).body as unknown as Health;

async function chaos(actor: string, fault: 'throw' | 'hang'): Promise<void> {
  const res = await fetch(`${node.apiUrl}/rpc`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'baton_chaos', params: { fault, actor } }),
  });
  const body = (await res.json()) as { error?: { message: string } };
  if (body.error) throw new Error(`baton_chaos ${fault} ${actor}: ${body.error.message}`);
}

/** Blocks keep coming: the head passes `n` within the time a few blocks take. */
async function producesPast(n: number, what: string): Promise<void> {
  await waitFor(what, async () => ((await health()).head?.number ?? -1) > n, 30_000, 100);
}

test.before(async () => {
  node = await startBaton({ args: ['--role', 'leader', '--chaos', '--admin-token', ADMIN_TOKEN] });
  await waitFor('the leader to produce', async () => ((await health()).head?.number ?? -1) >= 2, 90_000);
});

test.after.always(async () => {
  await node?.stop();
});

test.serial('a Builder crash restarts the Builder alone, in the same term', async (t) => {
  const before = await health();
  await chaos('builder', 'throw');
  await waitFor('the Builder restarted', async () => (await health()).actors.builder!.restarts === before.actors.builder!.restarts + 1, 10_000, 50);
  await producesPast(before.head!.number + 2, 'blocks after the Builder restart');
  const after = await health();
  t.is(after.epoch, before.epoch, 'same term: the lease was not released');
  t.is(after.actors.elector!.restarts, before.actors.elector!.restarts, 'the Elector was not restarted');
  t.is(after.actors.publisher!.restarts, before.actors.publisher!.restarts, 'nor the Publisher');
});

test.serial('a Publisher crash restarts the Publisher and the Builder, in the same term', async (t) => {
  const before = await health();
  await chaos('publisher', 'throw');
  await waitFor(
    'the Publisher and Builder restarted',
    async () => {
      const h = await health();
      return h.actors.publisher!.restarts === before.actors.publisher!.restarts + 1 && h.actors.builder!.restarts === before.actors.builder!.restarts + 1;
    },
    10_000,
    50,
  );
  await producesPast(before.head!.number + 2, 'blocks after the Publisher restart');
  const after = await health();
  t.is(after.epoch, before.epoch, 'same term');
  t.is(after.actors.elector!.restarts, before.actors.elector!.restarts);
});

test.serial('a hung Builder is found at its deadline (3 s at 1 s blocks) and restarted in the same term', async (t) => {
  const before = await health();
  const injected = performance.now();
  await chaos('builder', 'hang');
  await waitFor('the hung Builder restarted', async () => (await health()).actors.builder!.restarts === before.actors.builder!.restarts + 1, 15_000, 50);
  const foundAfterMs = performance.now() - injected;
  t.true(
    foundAfterMs < 3_000 + 1_000 + 1_500,
    `found and restarted ${Math.round(foundAfterMs)} ms after the hang (deadline 3 s, the next tick up to 1 s later)`,
  );
  await producesPast(before.head!.number + 1, 'blocks after the hang');
  t.is((await health()).epoch, before.epoch, 'same term');
});

test.serial('an Elector crash restarts the leader subtree and releases the lease: a new term', async (t) => {
  const before = await health();
  await chaos('elector', 'throw');
  await waitFor(
    'a new term',
    async () => {
      const h = await health();
      return h.epoch !== null && before.epoch !== null && h.epoch > before.epoch && h.producer.state === 'producing';
    },
    30_000,
    100,
  );
  const after = await health();
  t.is(after.actors.elector!.restarts, before.actors.elector!.restarts + 1);
  t.true(after.actors.builder!.restarts > before.actors.builder!.restarts, 'the production subtree restarted with it');
  t.is(after.actors.executor!.restarts, before.actors.executor!.restarts, 'the follower subtree was not touched');
  await producesPast(after.head!.number, 'blocks in the new term');
});
