/**
 * RPC proxy bench (`npx tsx bench/rpc.ts [--quick]`): what `POST /rpc` on a Baton node costs over
 * calling its EL's JSON-RPC directly. One embedded-default leader runs as its own process (as an
 * operator runs it); 64 clients, each with one request in flight, call `eth_blockNumber` and then
 * `eth_call` (the identity precompile, so the EL runs the EVM) for a fixed time, first on the EL,
 * then through the node, in alternating rounds so drift on this shared machine hits both alike.
 * Reported per method: p50 and p99 latency and requests/s, the direct figure as the baseline. The
 * budget (issue 17) is proxy p99 ≤ 1.2 × direct p99.
 */
import { loadavg } from 'node:os';
import { startBaton, waitFor } from '../test/helpers/batonProcess.js';
import { percentile, type Row, reportSection } from './stats.js';

const quick = process.argv.includes('--quick');
const CLIENTS = 64;
/** Per round and target; two rounds each, alternating. */
const ROUND_MS = quick ? 2_000 : 8_000;
const ROUNDS = 2;
const WARMUP_MS = 1_000;

const METHODS = {
  eth_blockNumber: [],
  eth_call: [{ to: '0x0000000000000000000000000000000000000004', data: '0x000102030405060708090a0b0c0d0e0f' }, 'latest'],
} as const;
type Method = keyof typeof METHODS;

interface Measured {
  latenciesMs: number[];
  requests: number;
  elapsedMs: number;
}

/** `CLIENTS` loops, each posting `method` to `url` back to back for `ms`; every answer must be a JSON-RPC result. */
async function load(url: string, method: Method, ms: number): Promise<Measured> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: METHODS[method] });
  const latenciesMs: number[] = [];
  const started = performance.now();
  const deadline = started + ms;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const answer = (await res.json()) as { result?: unknown; error?: { message: string } };
        if (answer.result === undefined) throw new Error(`${method} on ${url}: ${JSON.stringify(answer.error ?? answer)}`);
        latenciesMs.push(performance.now() - t0);
      }
    }),
  );
  return { latenciesMs, requests: latenciesMs.length, elapsedMs: performance.now() - started };
}

function merge(parts: Measured[]): Measured {
  return {
    latenciesMs: parts.flatMap((p) => p.latenciesMs).sort((a, b) => a - b),
    requests: parts.reduce((n, p) => n + p.requests, 0),
    elapsedMs: parts.reduce((n, p) => n + p.elapsedMs, 0),
  };
}

const node = await startBaton({ args: ['--role', 'leader', '--block-time', '1s'] });
try {
  await waitFor('the leader to commit a block', async () => Number((await node.health()).body.head?.number ?? -1) >= 1, 120_000);
  const elUrl: string = (await node.health()).body.executionClient.rpcUrl;
  const proxyUrl = `${node.apiUrl}/rpc`;
  const loadAtStart = loadavg()[0]!;
  const rows: Row[] = [];
  for (const method of Object.keys(METHODS) as Method[]) {
    await load(elUrl, method, WARMUP_MS);
    await load(proxyUrl, method, WARMUP_MS);
    const direct: Measured[] = [];
    const proxied: Measured[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      direct.push(await load(elUrl, method, ROUND_MS));
      proxied.push(await load(proxyUrl, method, ROUND_MS));
    }
    const d = merge(direct);
    const p = merge(proxied);
    const p99 = { proxy: percentile(p.latenciesMs, 99), direct: percentile(d.latenciesMs, 99) };
    rows.push(
      {
        figure: `${method} p50 via /rpc (baseline: EL direct)`,
        value: percentile(p.latenciesMs, 50),
        baseline: percentile(d.latenciesMs, 50),
        unit: 'ms',
        higherIsBetter: false,
      },
      { figure: `${method} p99 via /rpc (baseline: EL direct)`, value: p99.proxy, baseline: p99.direct, unit: 'ms', higherIsBetter: false },
      {
        figure: `${method} req/s via /rpc (baseline: EL direct)`,
        value: (p.requests * 1000) / p.elapsedMs,
        baseline: (d.requests * 1000) / d.elapsedMs,
        unit: 'req/s',
        higherIsBetter: true,
      },
      { figure: `${method} p99 /rpc ÷ direct (budget ≤ 1.2)`, value: p99.proxy / p99.direct, unit: '×' },
    );
  }
  rows.push(
    { figure: 'load average (1 min) at start', value: loadAtStart, unit: '' },
    { figure: 'load average (1 min) at end', value: loadavg()[0]!, unit: '' },
  );
  reportSection(`RPC proxy overhead: ${CLIENTS} concurrent clients, ${ROUNDS} × ${ROUND_MS} ms per target and method`, rows);
} finally {
  await node.stop();
}
