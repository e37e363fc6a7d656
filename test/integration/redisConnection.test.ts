import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import pino from 'pino';
import { RedisLease } from '../../src/adapters/lease/redis.js';
import { createRedis, describeRedis, type RedisConnectionOptions } from '../../src/adapters/redis/connection.js';
import { freePort } from '../helpers/etcdCluster.js';
import { startRedisServer } from '../helpers/redisServer.js';

/**
 * The Redis connection the node and the lease use, against real redis-servers of our own (free
 * ports): with a password, over TLS with a private CA, and through Redis Sentinel. Each case
 * acquires the lease over the connection, so fencing works the same on all of them.
 */
const servers: ChildProcess[] = [];
const logger = pino({ level: 'silent' });
let dir: string;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-redis-conn-'));
});

test.after.always(() => {
  for (const s of servers) s.kill('SIGKILL');
});

async function leaseOver(t: import('ava').ExecutionContext, o: RedisConnectionOptions): Promise<void> {
  const redis = createRedis(o);
  try {
    await redis.connect();
    t.is(await redis.ping(), 'PONG', describeRedis(o));
    const lease = new RedisLease({ prefix: 'conn-test' }, { redis, logger });
    const grant = await lease.tryAcquire('node-a', 2_000, AbortSignal.timeout(2_000));
    t.truthy(grant, 'the lease is acquired over this connection');
    t.is((await lease.current(AbortSignal.timeout(2_000)))?.holder, 'node-a');
    await lease.release('node-a', grant!);
  } finally {
    redis.disconnect();
  }
}

/** Connects and pings expecting failure: the rejection, and what the connection reported on the way (ioredis emits the cause as 'error'). */
async function failedConnection(o: RedisConnectionOptions): Promise<{ error: Error | null; messages: string[] }> {
  const redis = createRedis(o);
  const messages: string[] = [];
  redis.on('error', (err: Error) => messages.push(err.message));
  try {
    await redis.connect();
    await redis.ping();
    return { error: null, messages };
  } catch (err) {
    return { error: err as Error, messages };
  } finally {
    redis.disconnect();
  }
}

test.serial('a password: accepted when right, refused with NOAUTH/WRONGPASS when missing or wrong', async (t) => {
  const port = await freePort();
  servers.push(await startRedisServer(port, ['--requirepass', 's3cret']));
  await leaseOver(t, { addr: `redis://127.0.0.1:${port}`, password: 's3cret' });
  await leaseOver(t, { addr: `redis://:s3cret@127.0.0.1:${port}` });
  for (const password of [undefined, 'wrong']) {
    const { error, messages } = await failedConnection({ addr: `redis://127.0.0.1:${port}`, password });
    t.truthy(error, `refused with password ${password}`);
    t.regex([error!.message, ...messages].join(' | '), /NOAUTH|WRONGPASS|invalid password/);
  }
});

test.serial('TLS (rediss://) with a private CA; a client without the CA is refused', async (t) => {
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const cert = join(dir, 'server.pem');
  const key = join(dir, 'server.key');
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=baton-test-ca', '-keyout', caKey, '-out', ca]);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', join(dir, 'server.csr')]);
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl([
    'x509',
    '-req',
    '-in',
    join(dir, 'server.csr'),
    '-CA',
    ca,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    join(dir, 'san.ext'),
    '-out',
    cert,
  ]);
  const port = await freePort();
  servers.push(
    await startRedisServer(
      0,
      ['--tls-port', String(port), '--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', ca, '--tls-auth-clients', 'no'],
      undefined,
      port,
    ),
  );
  await leaseOver(t, { addr: `rediss://127.0.0.1:${port}`, tlsCaFile: ca });
  const { error, messages } = await failedConnection({ addr: `rediss://127.0.0.1:${port}` });
  t.truthy(error, 'refused without the CA');
  t.regex(messages.join(' | '), /certificate/i);
});

test.serial('Redis Sentinel: the connection goes to the master the Sentinel names', async (t) => {
  const masterPort = await freePort();
  servers.push(await startRedisServer(masterPort));
  const sentinelPort = await freePort();
  const conf = join(dir, 'sentinel.conf');
  await writeFile(conf, `sentinel monitor baton-master 127.0.0.1 ${masterPort} 1\n`);
  servers.push(await startRedisServer(sentinelPort, ['--sentinel'], conf));
  await leaseOver(t, { sentinels: [`127.0.0.1:${sentinelPort}`], sentinelName: 'baton-master' });
  const wrongName = createRedis({ sentinels: [`127.0.0.1:${sentinelPort}`], sentinelName: 'no-such-master' });
  wrongName.on('error', () => {});
  await t.throwsAsync(
    Promise.race([wrongName.connect().then(() => wrongName.ping()), new Promise((_, reject) => setTimeout(() => reject(new Error('no master found')), 3_000))]),
  );
  wrongName.disconnect();
});
