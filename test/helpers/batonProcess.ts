import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../../src/adapters/executionClient/freePort.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** A Baton node run as its own process, as an operator runs it: so tests can SIGKILL and SIGSTOP it. */
export interface BatonProcess {
  readonly child: ChildProcess;
  readonly healthUrl: string;
  readonly apiUrl: string;
  readonly dataDir: string;
  readonly logPath: string;
  /** Settles with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  health(): Promise<{ status: number; body: Record<string, any> }>;
  /** SIGTERM and wait for the exit; then kill the embedded EL if a SIGKILL had orphaned it. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Kill the embedded EL a SIGKILLed node left behind (its pid file is removed on a clean exit). */
export async function killOrphanedEl(dataDir: string): Promise<void> {
  const pid = Number(await readFile(join(dataDir, 'el', 'el.pid'), 'utf8').catch(() => ''));
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export interface StartOptions {
  args: string[];
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Fixed ports, so a restarted node answers where it did before (default: two free ones). */
  ports?: { health: number; api: number };
  /** Its own process group, as a shell's foreground job: `process.kill(-child.pid, 'SIGINT')` is then a Ctrl-C. */
  processGroup?: boolean;
}

/** Start `src/cli/main.ts` with free health/API ports; resolves once spawned (use `waitFor` for readiness). */
export async function startBaton(opts: StartOptions): Promise<BatonProcess> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'baton-node-')));
  const [healthPort, apiPort] = opts.ports ? [opts.ports.health, opts.ports.api] : await freePorts(2);
  const logPath = join(dataDir, `baton-${Date.now()}.log`);
  // A free EL RPC port unless the test fixes one: tests run side by side, and the default (18545) is one port.
  const elRpcPort = opts.args.includes('--el-rpc-port') ? [] : ['--el-rpc-port', '0'];
  const args = [
    '--import',
    'tsx',
    MAIN,
    '--data-dir',
    dataDir,
    '--health-addr',
    `127.0.0.1:${healthPort}`,
    '--api-addr',
    `127.0.0.1:${apiPort}`,
    ...elRpcPort,
    ...opts.args,
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.processGroup ?? false,
  });
  const log = createWriteStream(logPath);
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const healthUrl = `http://127.0.0.1:${healthPort}`;
  return {
    child,
    healthUrl,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    dataDir,
    logPath,
    exited,
    async health() {
      const res = await fetch(`${healthUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT'); // a stopped process cannot handle SIGTERM
        child.kill('SIGTERM');
      }
      const exit = await exited;
      await killOrphanedEl(dataDir);
      return exit;
    },
  };
}

/** Poll `check` until it returns a value (not undefined/false); throws with `what` after `timeoutMs`, or at once when `signal` aborts. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  intervalMs = 200,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
}

/** The node's committed head as its `/health` reports it; -1 before the first block. */
export async function headOf(node: BatonProcess): Promise<bigint> {
  return BigInt((await node.health()).body.head?.number ?? -1);
}

/** Whether `node` leads and its Builder is producing, by its `/health`; false while it does not answer. */
export async function producing(node: BatonProcess): Promise<boolean> {
  const h = await node.health().catch(() => undefined);
  return Boolean(h?.body.isLeader && h.body.producer.state === 'producing');
}

/** The flags of a node on the shared mempool under `prefix`: Redis, a 5 s lease and a 3 s watcher lock, so a test's failover is quick. */
export function sharedMempoolArgs(redisAddr: string, prefix: string): string[] {
  return ['--redis-addr', redisAddr, '--redis-prefix', prefix, '--lease-ttl', '5s', '--mempool-watcher-lock-ttl', '3s'];
}

/** Waits until `node` answers healthy as a standby that sees `holder` as the leader. */
export function waitForStandby(node: BatonProcess, holder: string, timeoutMs = 90_000): Promise<true> {
  return waitFor(
    `${holder}'s standby healthy`,
    async () => {
      const h = await node.health();
      return h.status === 200 && !h.body.isLeader && h.body.holder === holder;
    },
    timeoutMs,
  );
}
