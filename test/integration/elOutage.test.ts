import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { type EmbeddedEl, startEmbeddedEl } from '../../src/adapters/executionClient/embedded.js';
import { freePorts } from '../../src/adapters/executionClient/freePort.js';
import { type BatonProcess, startBaton, waitFor } from '../helpers/batonProcess.js';
import { createDatabase } from '../helpers/services.js';

/** An external EL (the test owns it, on fixed ports so a restart keeps its URLs) that goes away mid-run. */
let el: EmbeddedEl | null = null;
let node: BatonProcess | null = null;
let db: Awaited<ReturnType<typeof createDatabase>>;

test.after.always(async () => {
  await node?.stop();
  await el?.stop();
  await db?.drop();
});

test('an EL that goes away makes /health 503; the node resumes producing when it returns', async (t) => {
  db = await createDatabase();
  const elDir = await mkdtemp(join(tmpdir(), 'baton-el-'));
  const [engine, rpc, p2p] = await freePorts(3);
  const ports = { engine: engine!, rpc: rpc!, p2p: p2p! };
  el = await startEmbeddedEl({ dataDir: elDir, ports });
  node = await startBaton({
    args: ['--role', 'leader', '--eth-client-url', el.engineUrl, '--eth-rpc-url', el.rpcUrl, '--jwt-secret-file', join(elDir, 'jwtsecret.hex'), '--postgres-url', db.url],
  });
  await waitFor('3 blocks', async () => (await node!.health()).body.head?.number >= 3, 90_000);

  await el.stop();
  el = null;
  const down = await waitFor('/health 503 naming the EL while it is down', async () => {
    const h = await node!.health();
    return h.status === 503 && h.body.problems.el ? h : undefined;
  }, 30_000);
  t.regex(down.body.problems.el, /execution client unreachable/);
  t.is(down.body.producer.state, 'stalled', 'the leader stopped producing');
  const headWhileDown = BigInt(down.body.head.number);

  el = await startEmbeddedEl({ dataDir: elDir, ports });
  const up = await waitFor('producing again', async () => {
    const h = await node!.health();
    return h.status === 200 && BigInt(h.body.head.number) >= headWhileDown + 3n ? h : undefined;
  }, 60_000);
  t.is(up.body.producer.state, 'producing');
  t.deepEqual(up.body.problems, {});
});
