import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { type BatonProcess, startBaton, waitFor } from '../helpers/batonProcess.js';

/**
 * Keeps examples/feedClient.ts (referenced from docs/feed-protocol.md) true: one node on the
 * embedded default (embedded EL, PGlite, file lease: no services needed), and the example run
 * against its feed as the docs show it, live and as a replay.
 */
const EXAMPLE = fileURLToPath(new URL('../../examples/feedClient.ts', import.meta.url));
const run = promisify(execFile);

let node: BatonProcess | null = null;

test.after.always(async () => {
  await node?.stop();
});

interface Line {
  number: bigint;
  hash: string;
  parent: string;
  rest: string;
}

/** The example's block lines: `block <number> <hash> parent <parentHash> txs <n> epoch <e>…`. */
function blockLines(stdout: string): Line[] {
  return [...stdout.matchAll(/^block (\d+) (0x[0-9a-f]{64}) parent (0x[0-9a-f]{64}) (txs \d+ epoch \d+.*)$/gm)].map((m) => ({
    number: BigInt(m[1]!),
    hash: m[2]!,
    parent: m[3]!,
    rest: m[4]!,
  }));
}

function assertConsecutive(t: import('ava').ExecutionContext, lines: Line[], what: string): void {
  for (let i = 1; i < lines.length; i++) {
    t.is(lines[i]!.number, lines[i - 1]!.number + 1n, `${what}: block ${lines[i]!.number} follows ${lines[i - 1]!.number}`);
    t.is(lines[i]!.parent, lines[i - 1]!.hash, `${what}: block ${lines[i]!.number}'s parent is the block printed before it`);
  }
}

test('examples/feedClient.ts prints consecutive blocks from a node, live and replayed', async (t) => {
  node = await startBaton({ args: ['--role', 'leader', '--instance-id', 'feed-example'] });
  await waitFor('the node to commit block 2', async () => (await node!.health()).body.head?.number >= 2, 120_000);
  const feedUrl = `${node.apiUrl.replace(/^http/, 'ws')}/feed`;

  // As docs/feed-protocol.md shows it: live blocks, JSON.
  const live = await run(process.execPath, ['--import', 'tsx', EXAMPLE, feedUrl, '--count', '3'], { timeout: 60_000 });
  const liveLines = blockLines(live.stdout);
  t.is(liveLines.length, 3, `three block lines, got:\n${live.stdout}${live.stderr}`);
  assertConsecutive(t, liveLines, 'live');

  // A replay from block 1 in msgpack with payloads: the same blocks the HTTP API serves.
  const replay = await run(process.execPath, ['--import', 'tsx', EXAMPLE, feedUrl, '--from', '1', '--encoding', 'msgpack', '--payload', '--count', '2'], {
    timeout: 60_000,
  });
  const replayLines = blockLines(replay.stdout);
  t.deepEqual(
    replayLines.map((l) => l.number),
    [1n, 2n],
    `blocks 1 and 2, got:\n${replay.stdout}${replay.stderr}`,
  );
  assertConsecutive(t, replayLines, 'replay');
  for (const line of replayLines) {
    const block = (await (await fetch(`${node.apiUrl}/blocks/${line.number}`)).json()) as { block_hash: string; tx_count: number };
    t.is(line.hash, block.block_hash, `block ${line.number}: the feed and /blocks agree`);
    t.regex(line.rest, new RegExp(`^txs ${block.tx_count} epoch \\d+ payload \\d+ B, ${block.tx_count} tx$`), `block ${line.number}: the payload was decoded`);
  }
});
