import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { ExecutionClientError, ExecutionClientErrorCode } from './errors.js';
import { freePorts, portIsFree } from './freePort.js';
import { devGenesis, type GethGenesis, readGenesisFile } from './genesis.js';
import { type ChildExit, spawnLogged } from './loggedChild.js';
import { defaultEmbeddedElOptions, type ElPorts, type EmbeddedElOptions } from './options.js';

/**
 * A running @ethereumjs/client child process. Note that the client accepts transactions only after
 * its first forkchoiceUpdated, which the leader's Builder sends when it takes over.
 */
export interface EmbeddedEl {
  engineUrl: string;
  rpcUrl: string;
  jwtSecret: Uint8Array;
  ports: ElPorts;
  pid: number;
  chainId: bigint;
  dataDir: string;
  /** Captured stdout/stderr of the child, appended across restarts. */
  logPath: string;
  /** Settles when the child exits for any reason, so a supervisor can treat an unplanned exit as a crash. */
  exited: Promise<ChildExit>;
  /** SIGTERM, then SIGKILL after `stopTimeoutMs`. Idempotent; resolves once the child is gone. */
  stop(): Promise<void>;
}

/** File names inside `dataDir`. The genesis name also names the client's chain folder (`baton-genesis/`). */
const FILES = { genesis: 'baton-genesis.json', jwt: 'jwtsecret.hex', log: 'el.log', pid: 'el.pid' } as const;
/** Printed by the client when start-up fails; it then keeps running without servers. */
const FATAL_LINE = 'Error starting client';
/** Log lines quoted in a start error: enough for a stack trace. */
const TAIL_LINES = 30;
const POLL_INTERVAL_MS = 200;

const CLI_PATH = fileURLToPath(import.meta.resolve('@ethereumjs/client'));

/**
 * Starts @ethereumjs/client as a child process on `dataDir` and resolves once it serves JSON-RPC
 * (its Engine API comes up with it; the engine adapter checks that with the JWT secret). Rejects
 * with the log tail if the child exits or reports a fatal error first, or with `EL_START_TIMEOUT`.
 */
export async function startEmbeddedEl(options: Partial<EmbeddedElOptions> & { dataDir: string }, modules: { logger?: Logger } = {}): Promise<EmbeddedEl> {
  // Absolute: the child runs with its working directory set to the data dir, where a relative path would name another place.
  const opts: EmbeddedElOptions = { ...defaultEmbeddedElOptions, ...options, dataDir: resolve(options.dataDir) };
  const { dataDir } = opts;
  await mkdir(dataDir, { recursive: true });
  const genesis = await storeGenesis(dataDir, opts.genesisPath);
  const jwtSecret = await loadOrCreateJwtSecret(join(dataDir, FILES.jwt));
  const [engine, rpc, p2p] = await freePorts(3, opts.host);
  const ports: ElPorts = { engine: engine!, rpc: rpc!, p2p: p2p!, ...opts.ports };

  await killOrphan(join(dataDir, FILES.pid), dataDir, modules.logger);
  if (opts.ports?.rpc !== undefined && !(await portIsFree(opts.ports.rpc, opts.host))) {
    throw new ExecutionClientError(
      ExecutionClientErrorCode.PORT_BUSY,
      `port ${opts.ports.rpc} on ${opts.host} for the embedded EL's JSON-RPC is taken by another process; pick another or 0 for a free one`,
      { port: opts.ports.rpc },
    );
  }
  const logPath = join(dataDir, FILES.log);
  const child = spawnLogged([CLI_PATH, ...clientFlags(opts, ports)], {
    cwd: dataDir,
    logPath,
    stopTimeoutMs: opts.stopTimeoutMs,
    fatalLine: FATAL_LINE,
    onLogError: (e) => modules.logger?.warn({ logPath, error: e.message }, 'Embedded EL log not writable'),
  });

  await writeFile(join(dataDir, FILES.pid), String(child.pid));
  void child.exited.then(() => rm(join(dataDir, FILES.pid), { force: true }));
  const engineUrl = `http://${opts.host}:${ports.engine}`;
  const rpcUrl = `http://${opts.host}:${ports.rpc}`;
  const startedAt = Date.now();
  for (;;) {
    const failure = child.failure();
    if (failure !== null || Date.now() - startedAt > opts.startTimeoutMs) {
      await child.stop();
      const code = failure === null ? ExecutionClientErrorCode.START_TIMEOUT : ExecutionClientErrorCode.START_FAILED;
      const why = failure ?? `Engine API not answering after ${opts.startTimeoutMs} ms`;
      const logTail = child.tail(TAIL_LINES);
      const line = tellingLine(logTail);
      const said = line ? `it said: ${JSON.stringify(line.slice(0, 300))}` : 'it printed nothing';
      throw new ExecutionClientError(code, `embedded EL ${why}; ${said}; full log in ${logPath}`, { logPath, logTail });
    }
    if (await answers(rpcUrl)) break;
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }

  const chainId = BigInt(genesis.config.chainId);
  const { pid, exited, stop } = child;
  modules.logger?.info(
    {
      pid,
      engineUrl,
      rpcUrl,
      p2pPort: ports.p2p,
      chainId,
      dataDir,
      startMs: Date.now() - startedAt,
    },
    'Embedded EL started',
  );
  return { engineUrl, rpcUrl, jwtSecret, ports, pid, chainId, dataDir, logPath, exited, stop };
}

/**
 * The line of a failed start's output that says why, for a one-line error: the last error
 * message (not a stack frame), else the last line printed. The whole tail is in the log file.
 */
function tellingLine(tail: string): string {
  const lines = tail
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.findLast((l) => /\w*Error: /.test(l)) ?? lines.findLast((l) => /\berror\b/i.test(l)) ?? lines.at(-1) ?? '';
}

/**
 * A node killed with SIGKILL cannot stop its EL child, which keeps the data dir's database lock;
 * the next start on the same `--data-dir` would then fail. The pid file names that orphan: if it
 * is still alive and its command line names this data dir, it is killed before the new start.
 */
async function killOrphan(pidPath: string, dataDir: string, logger?: Logger): Promise<void> {
  const pid = Number(await readFile(pidPath, 'utf8').catch(() => ''));
  if (!Number.isInteger(pid) || pid <= 0) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes(`--dataDir=${dataDir}`)) return;
  logger?.warn({ pid, dataDir }, 'Killing an orphaned embedded EL left by a killed node');
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50 && (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')) !== ''; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The client's command line; see `--help` of @ethereumjs/client for each flag. */
function clientFlags(opts: EmbeddedElOptions, ports: ElPorts): string[] {
  return [
    `--dataDir=${opts.dataDir}`,
    `--gethGenesis=${join(opts.dataDir, FILES.genesis)}`,
    // Post-merge with no peers: consider itself synced and follow the Engine API alone.
    '--isSingleNode',
    // No peer discovery and no peers: each node gets its blocks from Baton, never from the network.
    '--discDns=false',
    '--discV4=false',
    '--maxPeers=0',
    `--port=${ports.p2p}`,
    '--rpc',
    `--rpcAddr=${opts.host}`,
    `--rpcPort=${ports.rpc}`,
    '--rpcEngine',
    `--rpcEngineAddr=${opts.host}`,
    `--rpcEnginePort=${ports.engine}`,
    `--jwtSecret=${join(opts.dataDir, FILES.jwt)}`,
    `--logLevel=${opts.logLevel}`,
    // The console goes to our log file; the client's own file logs at debug level.
    // (`--logFile=false` would name a file "false": the option is untyped.)
    '--no-logFile',
  ];
}

/**
 * Writes the genesis into `dataDir` on first start. Later starts reuse it, and refuse a
 * `--genesis` that differs: the databases belong to the stored chain.
 */
async function storeGenesis(dataDir: string, genesisPath: string | undefined): Promise<GethGenesis> {
  const path = join(dataDir, FILES.genesis);
  const requested = genesisPath === undefined ? undefined : await readGenesisFile(genesisPath);
  const stored = await readFile(path, 'utf8').then(
    (text) => JSON.parse(text) as GethGenesis,
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    },
  );
  if (stored !== undefined) {
    if (requested !== undefined && JSON.stringify(requested) !== JSON.stringify(stored)) {
      throw new ExecutionClientError(
        ExecutionClientErrorCode.GENESIS_MISMATCH,
        `--genesis ${genesisPath} differs from the genesis of the chain in ${dataDir} (${path}); use a new data dir`,
        { dataDir, genesisPath },
      );
    }
    return stored;
  }
  const genesis = requested ?? devGenesis();
  await writeFile(path, `${JSON.stringify(genesis, null, 2)}\n`);
  return genesis;
}

/** Whether the client serves JSON-RPC yet (`eth_chainId` on its plain RPC port, no auth needed). */
async function answers(rpcUrl: string): Promise<boolean> {
  try {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(POLL_INTERVAL_MS * 5),
    });
    return res.ok && typeof ((await res.json()) as { result?: unknown }).result === 'string';
  } catch {
    return false;
  }
}

/** 32 bytes of hex, as Geth's `--authrpc.jwtsecret` file and ours hold it. */
const JWT_SECRET_HEX = /^(?:0x)?([0-9a-f]{64})$/i;

/** Reuses the secret of a previous start so clients configured with it keep working. */
async function loadOrCreateJwtSecret(path: string): Promise<Uint8Array> {
  try {
    const hex = JWT_SECRET_HEX.exec((await readFile(path, 'utf8')).trim())?.[1];
    if (hex === undefined)
      throw new ExecutionClientError(ExecutionClientErrorCode.START_FAILED, `${path} does not hold a 32-byte hex JWT secret; remove it to get a new one`, {
        path,
      });
    return Uint8Array.from(Buffer.from(hex, 'hex'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const secret = randomBytes(32);
  await writeFile(path, `${secret.toString('hex')}\n`, { mode: 0o600 });
  return new Uint8Array(secret);
}
