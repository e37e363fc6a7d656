/**
 * `npm run chaos -- --duration S --seed N [--lease-backend redis|etcd] [--out summary.json] [--keep]`:
 * one chaos run (issue 9) against a loopback cluster; the summary is printed (and written as JSON
 * with `--out`). Exit 0 with no violation, 1 with any, 2 on a bad flag.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { chaosDir } from './cluster.js';
import { formatSummary, runChaos } from './harness.js';

function fail(message: string): never {
  process.stderr.write(`chaos: ${message}\n`);
  process.exit(2);
}

function parsedArgs() {
  try {
    return parseArgs({
      options: {
        duration: { type: 'string', default: '120' },
        seed: { type: 'string', default: '1' },
        'lease-backend': { type: 'string', default: 'redis' },
        'lease-ttl': { type: 'string', default: '2000' },
        out: { type: 'string' },
        keep: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    return fail((err as Error).message);
  }
}
const values = parsedArgs();
const durationS = Number(values.duration);
if (!Number.isFinite(durationS) || durationS <= 0) fail(`--duration is seconds of faults (a positive number), got ${JSON.stringify(values.duration)}`);
const seed = Number(values.seed);
if (!Number.isSafeInteger(seed) || seed < 0) fail(`--seed is a non-negative integer, got ${JSON.stringify(values.seed)}`);
const leaseBackend = values['lease-backend'];
if (leaseBackend !== 'redis' && leaseBackend !== 'etcd') fail(`--lease-backend is redis or etcd, got ${JSON.stringify(leaseBackend)}`);
const leaseTtlMs = Number(values['lease-ttl']);
if (!Number.isSafeInteger(leaseTtlMs) || leaseTtlMs < 500) fail(`--lease-ttl is milliseconds (≥ 500), got ${JSON.stringify(values['lease-ttl'])}`);

const dir = await chaosDir();
// Ctrl-C (or SIGTERM) ends the faults and tears the cluster down: no node, EL, Redis or etcd is left behind.
const interrupt = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  // `on`, not `once`: a terminal's Ctrl-C reaches this process both directly and relayed by tsx, and a second, unhandled SIGINT would kill it mid-teardown.
  process.on(sig, () => {
    if (!interrupt.signal.aborted) console.log(`chaos: ${sig}: stopping the faults and tearing the cluster down…`);
    interrupt.abort();
  });
}
const summary = await runChaos({ durationMs: durationS * 1000, seed, leaseBackend, leaseTtlMs, dir, keep: values.keep, signal: interrupt.signal }).catch(
  (err: Error) => {
    if (!interrupt.signal.aborted) throw err;
    process.stdout.write('chaos: interrupted; the cluster is down, nothing was checked\n', () => process.exit(130));
    return new Promise<never>(() => {});
  },
);
console.log(formatSummary(summary));
if (values.out) await writeFile(values.out, `${JSON.stringify(summary, (_, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
if (values.keep) console.log(`data directories and logs kept in ${dir}`);
process.exit(summary.violations.length === 0 ? 0 : 1);
