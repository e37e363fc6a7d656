import test from 'ava';
import pino from 'pino';
import { type Actor, actorRef, type ChildSpec, type Message, type RestartType, type TreeSpec } from '../../../src/runtime/actor.js';
import { CodedError } from '../../../src/runtime/errors.js';
import { createRuntimeModules } from '../../../src/runtime/index.js';
import { type RestartStrategy, Supervisor } from '../../../src/runtime/supervisor.js';
import { poolTasks } from '../../../src/tasks/index.js';

/** The messages of the test actor: a numbered item to record, a normal stop, and a request for its log. */
type TestMsg = { type: 'item'; n: number } | { type: 'stopNormally' } | { type: 'echo'; value: unknown } | { type: 'invalid' } | { type: 'block'; ms: number };

/** What the test observes from outside the actors: lifecycle events and handled items, in order. */
interface Journal {
  events: string[];
  items: Record<string, number[]>;
}

interface TestActorOptions {
  /** Throw when handling item `n`, this many times in total (Infinity: a poison message). */
  crashOn?: { n: number; times: number };
}

function testActor(id: string, journal: Journal, opts: TestActorOptions = {}): () => Actor<TestMsg, { incarnation: number }> {
  let incarnations = 0;
  let crashesLeft = opts.crashOn?.times ?? 0;
  return () => ({
    init() {
      incarnations++;
      journal.events.push(`init:${id}`);
      return { incarnation: incarnations };
    },
    async handle(msg, state, ctx) {
      switch (msg.type) {
        case 'item':
          if (opts.crashOn && msg.n === opts.crashOn.n && crashesLeft > 0) {
            crashesLeft--;
            throw new Error(`${id} crashes on item ${msg.n}`);
          }
          (journal.items[id] ??= []).push(msg.n);
          return state;
        case 'stopNormally':
          ctx.stop();
          return state;
        case 'echo':
          ctx.reply(msg.value);
          return state;
        case 'invalid':
          ctx.replyError(new CodedError('BAD_INPUT', 'this input is invalid', { field: 'x' }));
          return state;
        case 'block':
          await new Promise((resolve) => setTimeout(resolve, msg.ms));
          return state;
      }
    },
    terminate() {
      journal.events.push(`terminate:${id}`);
    },
  });
}

function spec(
  id: string,
  journal: Journal,
  restart: RestartType = 'permanent',
  extra: Partial<Pick<ChildSpec, 'handlerTimeoutMs' | 'mailboxSize'>> & TestActorOptions = {},
): ChildSpec<TestMsg, { incarnation: number }> {
  return { id, start: testActor(id, journal, extra), restart, shutdownMs: 500, handlerTimeoutMs: extra.handlerTimeoutMs, mailboxSize: extra.mailboxSize };
}

function setup(strategy: RestartStrategy, build: (j: Journal) => TreeSpec[], intensity = { maxRestarts: 5, periodMs: 30_000 }) {
  const journal: Journal = { events: [], items: {} };
  const modules = createRuntimeModules({ chaos: true, logger: pino({ level: 'silent' }), pool: { tasks: poolTasks, threads: 1 } });
  const escalations: string[] = [];
  const sup = new Supervisor({ strategy, intensity, children: build(journal), onEscalate: (err) => void escalations.push(err.message) }, modules);
  return { sup, journal, modules, escalations };
}

/** Wait until `check` holds, polling; fails the test with `what` after `timeoutMs`. */
async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The address of a test actor (a hasher test passes its own message type). */
const to = <M extends Message = TestMsg>(id: string) => actorRef<M>(id);

const ABC = (j: Journal) => [spec('a', j), spec('b', j), spec('c', j)];

test('children start in order and stop in reverse order', async (t) => {
  const { sup, journal, modules } = setup('one_for_one', ABC);
  await sup.start();
  await sup.stop();
  await sup.done;
  t.deepEqual(journal.events, ['init:a', 'init:b', 'init:c', 'terminate:c', 'terminate:b', 'terminate:a']);
  await modules.pool.destroy();
});

for (const [strategy, expectedRestarted] of [
  ['one_for_one', ['b']],
  ['one_for_all', ['a', 'b', 'c']],
  ['rest_for_one', ['b', 'c']],
] as const) {
  test(`${strategy}: a crash in b restarts ${expectedRestarted.join(', ')}`, async (t) => {
    const { sup, journal, modules } = setup(strategy, ABC);
    await sup.start();
    journal.events.length = 0;
    modules.chaos.inject('b', 'throw');
    sup.send(to('b'), { type: 'item', n: 1 });
    await eventually(() => journal.items.b?.includes(1) ?? false, 'b handles the retried item');
    const reinitialised = journal.events.filter((e) => e.startsWith('init:')).map((e) => e.slice(5));
    t.deepEqual(reinitialised, [...expectedRestarted], 'restarted children, in start order');
    t.deepEqual(sup.restartCounts(), { a: 0, b: 0, c: 0, ...Object.fromEntries(expectedRestarted.map((id) => [id, 1])) });
    for (const id of ['a', 'b', 'c']) {
      sup.send(to(id), { type: 'item', n: 2 });
    }
    await eventually(() => ['a', 'b', 'c'].every((id) => journal.items[id]?.includes(2)), 'every child serves after the restart');
    await sup.stop();
    await modules.pool.destroy();
  });
}

test('injectFault crashes an idle actor at once; its wake-up never reaches the handler, and the count says it fired', async (t) => {
  const { sup, journal, modules } = setup('one_for_one', ABC);
  await sup.start();
  journal.events.length = 0;
  sup.injectFault('b', 'throw');
  await eventually(() => sup.restartCounts().b === 1, 'b restarted without any message of its own');
  t.deepEqual(
    journal.events.filter((e) => e.startsWith('init:')),
    ['init:b'],
    'only b restarted (one_for_one)',
  );
  t.deepEqual(modules.chaos.injected(), { 'b:throw': 1 });
  sup.send(to('b'), { type: 'item', n: 1 });
  await eventually(() => journal.items.b?.includes(1) ?? false, 'b serves after the restart');
  t.deepEqual(journal.items, { b: [1] }, 'the wake-up message was never handled as an item');
  t.throws(() => sup.injectFault('nobody', 'throw'), { code: 'UNKNOWN_ACTOR' } as never);
  await sup.stop();
  await modules.pool.destroy();
});

test('restart types: permanent restarts after a normal exit, transient only after a crash, temporary never', async (t) => {
  const { sup, journal, modules } = setup('one_for_one', (j) => [spec('perm', j, 'permanent'), spec('trans', j, 'transient'), spec('temp', j, 'temporary')]);
  await sup.start();
  journal.events.length = 0;

  sup.send(to('perm'), { type: 'stopNormally' });
  await eventually(() => journal.events.includes('init:perm'), 'permanent child restarted after a normal exit');

  modules.chaos.inject('trans', 'throw');
  sup.send(to('trans'), { type: 'item', n: 1 });
  await eventually(() => journal.events.includes('init:trans'), 'transient child restarted after a crash');
  journal.events.length = 0;
  sup.send(to('trans'), { type: 'stopNormally' });
  await eventually(() => journal.events.includes('terminate:trans'), 'transient child stopped normally');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.false(journal.events.includes('init:trans'), 'transient child not restarted after a normal exit');
  t.throws(() => sup.send(to('trans'), { type: 'item', n: 2 }), { code: 'ACTOR_STOPPED' } as never);

  modules.chaos.inject('temp', 'throw');
  sup.send(to('temp'), { type: 'item', n: 1 });
  await eventually(() => {
    try {
      sup.send(to('temp'), { type: 'item', n: 9 });
      return false;
    } catch (err) {
      return (err as CodedError).code === 'ACTOR_STOPPED';
    }
  }, 'temporary child retired after its crash');
  t.false(journal.events.includes('init:temp'), 'temporary child not restarted');
  t.deepEqual(sup.restartCounts(), { perm: 1, trans: 1, temp: 0 });
  await sup.stop();
  await modules.pool.destroy();
});

test('restart intensity exceeded: everything stops in reverse, the escalation hook runs, done rejects', async (t) => {
  const { sup, journal, modules, escalations } = setup('one_for_one', ABC, { maxRestarts: 2, periodMs: 10_000 });
  await sup.start();
  journal.events.length = 0;
  for (let i = 0; i < 3; i++) {
    modules.chaos.inject('b', 'throw');
    sup.send(to('b'), { type: 'item', n: i });
    if (i < 2) await eventually(() => sup.restartCounts().b === i + 1, `restart ${i + 1}`);
  }
  const err = await t.throwsAsync(sup.done);
  t.is((err as CodedError).code, 'ESCALATED');
  t.is(escalations.length, 1, 'escalation hook ran once');
  t.deepEqual(
    journal.events.filter((e) => e.startsWith('terminate:')),
    ['terminate:c', 'terminate:a'],
    'survivors stopped in reverse order',
  );
  t.throws(() => sup.send(to('a'), { type: 'item', n: 1 }), { code: 'ACTOR_STOPPED' } as never);
  await modules.pool.destroy();
});

test('a crashed actor is restarted and processes its next messages in order, none lost', async (t) => {
  const { sup, journal, modules } = setup('one_for_one', (j) => [spec('w', j, 'permanent', { crashOn: { n: 5, times: 1 } })]);
  await sup.start();
  for (let n = 1; n <= 20; n++) sup.send(to('w'), { type: 'item', n });
  await eventually(() => journal.items.w?.length === 20, 'all 20 items handled');
  t.deepEqual(
    journal.items.w,
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
  t.is(sup.restartCounts().w, 1);
  await sup.stop();
  await modules.pool.destroy();
});

test('a poison message is retried once, then dead-lettered; the rest flow on', async (t) => {
  const { sup, journal, modules } = setup('one_for_one', (j) => [spec('w', j, 'permanent', { crashOn: { n: 3, times: Infinity } })]);
  await sup.start();
  for (let n = 1; n <= 6; n++) sup.send(to('w'), { type: 'item', n });
  await eventually(() => journal.items.w?.length === 5, 'five healthy items handled');
  t.deepEqual(journal.items.w, [1, 2, 4, 5, 6]);
  t.is(sup.restartCounts().w, 2, 'one restart for the crash, one for the retry');
  const deadLetters = await modules.registry.getSingleMetric('baton_actor_dead_letters_total')!.get();
  t.is(deadLetters.values.find((v) => v.labels.actor === 'w')?.value, 1);
  const err = await t.throwsAsync(sup.ask(to('w'), { type: 'item', n: 3 }, 5_000));
  t.is((err as CodedError).code, 'DEAD_LETTER', 'an ask on a poison message learns it was dead-lettered');
  await sup.stop();
  await modules.pool.destroy();
});

test('a hung handler is detected at its deadline and the actor restarted; the message is retried', async (t) => {
  const { sup, journal, modules } = setup('one_for_one', (j) => [spec('w', j, 'permanent', { handlerTimeoutMs: 200 })]);
  await sup.start();
  modules.chaos.inject('w', 'hang');
  sup.send(to('w'), { type: 'item', n: 1 });
  sup.send(to('w'), { type: 'item', n: 2 });
  await eventually(() => journal.items.w?.length === 2, 'both items handled after the hang');
  t.deepEqual(journal.items.w, [1, 2]);
  t.is(sup.restartCounts().w, 1);
  t.deepEqual(modules.chaos.injected(), { 'w:hang': 1 });
  await sup.stop();
  await modules.pool.destroy();
});

test('messages are isolated: mutating after send cannot reach the receiver; bigint and bytes round-trip', async (t) => {
  const { sup, modules } = setup('one_for_one', (j) => [spec('w', j)]);
  await sup.start();
  const value = { list: [1, 2, 3], big: 2n ** 80n, epoch: 7n, bytes: new Uint8Array([1, 2, 3]) };
  const reply = sup.ask<typeof value, TestMsg>(to('w'), { type: 'echo', value }, 2_000);
  value.list.push(4);
  value.bytes[0] = 99;
  value.big = 0n;
  const echoed = await reply;
  t.deepEqual(echoed.list, [1, 2, 3]);
  t.is(echoed.big, 2n ** 80n);
  t.is(echoed.epoch, 7n);
  t.true(echoed.bytes instanceof Uint8Array);
  t.deepEqual([...echoed.bytes], [1, 2, 3]);
  t.not(echoed, value);
  await sup.stop();
  await modules.pool.destroy();
});

test('ask: a typed error reply keeps its code and metadata; a silent actor times out with ASK_TIMEOUT', async (t) => {
  const { sup, modules } = setup('one_for_one', (j) => [spec('w', j)]);
  await sup.start();
  const err = await t.throwsAsync(sup.ask(to('w'), { type: 'invalid' }, 2_000));
  t.is((err as CodedError).code, 'BAD_INPUT');
  t.deepEqual((err as CodedError).meta, { field: 'x' });
  sup.send(to('w'), { type: 'block', ms: 300 });
  const timeout = await t.throwsAsync(sup.ask(to('w'), { type: 'echo', value: 1 }, 50));
  t.is((timeout as CodedError).code, 'ASK_TIMEOUT');
  t.is(sup.restartCounts().w, 0, 'an invalid input is a reply, not a crash');
  await sup.stop();
  await modules.pool.destroy();
});

test('a full mailbox refuses the next message with QUEUE_FULL', async (t) => {
  const { sup, modules } = setup('one_for_one', (j) => [spec('w', j, 'permanent', { mailboxSize: 3 })]);
  await sup.start();
  sup.send(to('w'), { type: 'block', ms: 200 });
  await new Promise((resolve) => setTimeout(resolve, 20)); // the blocker is being handled, the mailbox is empty
  for (let n = 0; n < 3; n++) sup.send(to('w'), { type: 'item', n });
  const err = t.throws(() => sup.send(to('w'), { type: 'item', n: 3 }));
  t.is((err as CodedError).code, 'QUEUE_FULL');
  t.deepEqual((err as CodedError).meta, { actor: 'w', maxLength: 3 });
  await sup.stop();
  await modules.pool.destroy();
});

test('chaos is refused unless enabled', (t) => {
  const modules = createRuntimeModules({ logger: pino({ level: 'silent' }), pool: { tasks: poolTasks, inline: true } });
  const err = t.throws(() => modules.chaos.inject('w', 'throw'));
  t.is((err as CodedError).code, 'CHAOS_DISABLED');
  t.throws(() => modules.chaos.killWorker(), { message: /--chaos/ });
});

test('an actor whose pool worker is killed mid-task crashes, restarts and retries; the pool keeps serving', async (t) => {
  const journal: string[] = [];
  const modules = createRuntimeModules({ chaos: true, logger: pino({ level: 'silent' }), pool: { tasks: poolTasks, threads: 1 } });
  type HashMsg = { type: 'hash'; n: number };
  const hasher: ChildSpec<HashMsg, null> = {
    id: 'hasher',
    restart: 'permanent',
    shutdownMs: 500,
    start: () => ({
      init: () => null,
      async handle(msg: HashMsg, state, ctx) {
        const digest = await ctx.pool.run('keccak256', new Uint8Array([msg.n]));
        journal.push(`${msg.n}:${digest.length}`);
        return state;
      },
    }),
  };
  const sup = new Supervisor(
    { strategy: 'one_for_one', intensity: { maxRestarts: 5, periodMs: 30_000 }, children: [hasher as ChildSpec<Message, null>] },
    modules,
  );
  await sup.start();
  modules.chaos.killWorker('keccak256');
  for (let n = 1; n <= 3; n++) sup.send(to<HashMsg>('hasher'), { type: 'hash', n });
  await eventually(() => journal.length === 3, 'three hashes', 60_000); // a replacement worker compiles its TypeScript first
  t.deepEqual(journal, ['1:32', '2:32', '3:32']);
  t.is(sup.restartCounts().hasher, 1);
  t.deepEqual(modules.chaos.injected(), { 'pool:killWorker': 1 });
  await sup.stop();
  await modules.pool.destroy();
});

/** root (one_for_one): a, sub (rest_for_one: b, c), d */
const NESTED = (j: Journal): TreeSpec[] => [
  spec('a', j),
  { kind: 'supervisor', id: 'sub', strategy: 'rest_for_one', intensity: { maxRestarts: 1, periodMs: 10_000 }, children: [spec('b', j), spec('c', j)] },
  spec('d', j),
];

test('nested: a crash inside a subtree restarts by the subtree strategy and touches nothing outside it', async (t) => {
  const { sup, journal, modules } = setup('one_for_one', NESTED);
  await sup.start();
  t.deepEqual(journal.events, ['init:a', 'init:b', 'init:c', 'init:d'], 'depth-first start order');
  journal.events.length = 0;
  sup.injectFault('b', 'throw');
  await eventually(() => sup.restartCounts().c === 1, 'c restarted with b (rest_for_one)');
  t.deepEqual(
    journal.events.filter((e) => e.startsWith('init:')),
    ['init:b', 'init:c'],
  );
  t.deepEqual(sup.restartCounts(), { a: 0, b: 1, c: 1, d: 0 });
  await sup.stop();
  t.deepEqual(
    journal.events.filter((e) => e.startsWith('terminate:')).slice(-4),
    ['terminate:d', 'terminate:c', 'terminate:b', 'terminate:a'],
    'stopped in reverse, depth first',
  );
  await modules.pool.destroy();
});

test('nested: a subtree past its intensity is restarted whole by its parent; queued mail survives; the root stays up', async (t) => {
  const { sup, journal, modules, escalations } = setup('one_for_one', NESTED);
  await sup.start();
  journal.events.length = 0;
  sup.injectFault('c', 'throw');
  await eventually(() => sup.restartCounts().c === 1, 'first crash: c restarted by the subtree');
  sup.injectFault('c', 'throw'); // second crash within the period: the subtree (1 in 10 s) gives up
  await eventually(() => sup.restartCounts().b === 1 && sup.restartCounts().c === 2, 'the root restarted the whole subtree');
  t.deepEqual(
    journal.events.filter((e) => e.startsWith('init:')),
    ['init:c', 'init:b', 'init:c'],
    'c by the subtree, then b and c by the root',
  );
  for (const id of ['a', 'b', 'c', 'd']) sup.send(to(id), { type: 'item', n: 7 });
  await eventually(() => ['a', 'b', 'c', 'd'].every((id) => journal.items[id]?.includes(7)), 'every actor serves');
  t.is(sup.restartCounts().a, 0);
  t.is(sup.restartCounts().d, 0);
  t.deepEqual(escalations, [], 'a subtree giving up is not the end of the node');
  await sup.stop();
  await modules.pool.destroy();
});

test('nested: subtree escalations count against the root, which then stops the node', async (t) => {
  const { sup, modules, escalations } = setup('one_for_one', NESTED, { maxRestarts: 1, periodMs: 10_000 });
  await sup.start();
  const crashB = async (restartsOfB: number, what: string) => {
    sup.injectFault('b', 'throw');
    await eventually(() => sup.restartCounts().b === restartsOfB, what);
  };
  await crashB(1, 'the subtree restarts b');
  await crashB(2, 'the subtree gives up; the root restarts it (its first restart)');
  await crashB(3, 'the new subtree restarts b');
  sup.injectFault('b', 'throw'); // the subtree gives up again: the root's second restart in its period
  const err = await t.throwsAsync(sup.done);
  t.is((err as CodedError).code, 'ESCALATED');
  t.is(escalations.length, 1);
  await modules.pool.destroy();
});
