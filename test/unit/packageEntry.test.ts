import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import * as baton from 'baton';

const EXAMPLE = fileURLToPath(new URL('../../examples/elector.ts', import.meta.url));

test('the package entry exports the Elector, the lease backends and the feed client', (t) => {
  for (const name of [
    'Elector',
    'ELECTOR_DEFAULTS',
    'createLeaseBackend',
    'RedisLease',
    'PostgresLease',
    'EtcdLease',
    'KubernetesLease',
    'FileLease',
    'FeedClient',
  ]) {
    t.truthy((baton as Record<string, unknown>)[name], `${name} is exported`);
  }
  t.deepEqual(baton.ELECTOR_DEFAULTS, { leaseDurationMs: 15_000, renewIntervalMs: 5_000, retryIntervalMs: 2_000, maxRenewFailures: 3 });
});

test('the README example runs: the second contender takes over with a higher epoch after the first stops', async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', EXAMPLE], { timeout: 30_000 });
  t.regex(stdout, /alice leads with epoch 1; bob is leader: false/);
  t.regex(stdout, /bob leads with epoch 2 \(> 1: true\)/);
});
