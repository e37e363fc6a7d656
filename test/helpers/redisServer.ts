import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { waitFor } from './batonProcess.js';

/**
 * A throwaway redis-server (no persistence) on a fixed free port, for tests that kill, partition or
 * reconfigure Redis — never the shared one. `extraArgs` add `--requirepass`, TLS or `--sentinel`.
 * Up once `readyPort` (default: `port`; the TLS port for a TLS-only server) accepts connections
 * (a PING would need the password or TLS).
 */
export async function startRedisServer(port: number, extraArgs: string[] = [], configFile?: string, readyPort = port): Promise<ChildProcess> {
  const args = [...(configFile ? [configFile] : []), '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  // A missing binary rejects at once (and is not an unhandled 'error' event crashing the worker).
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new Error('redis-server not found on PATH (apt-get install redis-server)') : err),
    );
  });
  await waitFor(
    `redis-server on ${readyPort}`,
    async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      return new Promise<boolean>((resolve) => {
        const socket = connect(readyPort, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
    },
    10_000,
    100,
  );
  return child;
}
