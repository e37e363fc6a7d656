/**
 * The Elector on its own: two contenders share a file lease in a temp dir; the first leads, stops
 * (releasing at once), and the second takes over with a higher epoch — the fencing token any
 * write made as leader should carry. Run: `npx tsx examples/elector.ts`.
 * With Redis instead: `createLeaseBackend({ backend: 'redis' }, { logger, redis: new Redis() })`.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLeaseBackend, Elector } from 'baton';
import { pino } from 'pino';

const logger = pino({ level: 'warn' });
const path = join(await mkdtemp(join(tmpdir(), 'baton-example-')), 'lease.json');
const backend = createLeaseBackend({ backend: 'file', path }, { logger });
const options = { leaseDurationMs: 2_000, renewIntervalMs: 500, retryIntervalMs: 100 };

const alice = new Elector(backend, { identity: 'alice', ...options });
const bob = new Elector(backend, { identity: 'bob', ...options });
for (const e of [alice, bob]) {
  e.on('acquired', ({ epoch }) => console.log(`acquired ${epoch}`));
  e.on('lost', ({ epoch, reason }) => console.log(`lost ${epoch}: ${reason}`));
}

alice.start();
const firstEpoch = await alice.waitForLeadership();
bob.start();
console.log(`alice leads with epoch ${firstEpoch}; bob is leader: ${bob.isLeader()}`);

await alice.stop(); // resolves once the lease is released
const secondEpoch = await bob.waitForLeadership(AbortSignal.timeout(5_000));
console.log(`bob leads with epoch ${secondEpoch} (> ${firstEpoch}: ${secondEpoch > firstEpoch})`);
await bob.stop();
