/**
 * The execution client a node drives (DESIGN §7), chosen as Lodestar's
 * `initializeExecutionEngine` does: an external EL at a URL with its JWT secret, or the embedded
 * `@ethereumjs/client`, started and supervised here. Either way the Engine API is checked with an
 * authenticated `engine_exchangeCapabilities` before the node uses it.
 */
import type { Logger } from 'pino';
import type { ElProcessReport } from '../executionClient/supervised.js';
import { SupervisedEl } from '../executionClient/supervised.js';
import { EngineError, EngineErrorCode } from './errors.js';
import { HttpEngineClient } from './http.js';
import type { EngineApi } from './interface.js';
import { engineOptions } from './options.js';

export interface ExecutionEngineOptions {
  /** An external EL's Engine API; the embedded EL is started when unset. */
  url?: string;
  /** Its plain JSON-RPC URL (for `eth_` calls the engine port does not serve). */
  rpcUrl?: string;
  jwtSecret?: Uint8Array;
  /** Where the embedded EL keeps its chain, and the genesis of a new one. */
  embedded: { dataDir: string; genesisPath?: string; rpcPort?: number };
}

export interface ExecutionEngineModules {
  logger: Logger;
  /** Counted per restart of the embedded EL (`baton_el_restarts_total`). */
  onElRestart?: () => void;
}

/** Where the EL answers, shown on `/health` so operators (and tests) can query the same EL the node drives. */
export interface EngineEndpoints {
  embedded: boolean;
  engineUrl: string;
  rpcUrl: string | null;
}

export interface ExecutionEngine {
  api: EngineApi;
  endpoints: EngineEndpoints;
  /** The embedded EL's process (pid, restarts, last exit), or null for an external EL. */
  process(): ElProcessReport | null;
  /** Stops the embedded EL (an external one is left running). */
  stop(): Promise<void>;
}

/**
 * How long the Engine API may take to answer its first authenticated call: a just-started embedded
 * EL opens its Engine port a moment after its RPC port, and this thread may be busy opening
 * PGlite meanwhile. An external EL that is down fails at the first refused connection.
 */
const FIRST_ANSWER_MS = 10_000;
const FIRST_ANSWER_RETRY_MS = 200;

/**
 * Opens the node's EL. Throws an `EngineError` (`ENGINE_UNREACHABLE`, `ENGINE_UNAUTHORIZED`, …) for
 * an external EL, or the embedded EL's `ExecutionClientError` if it did not start.
 */
export async function openExecutionEngine(opts: ExecutionEngineOptions, modules: ExecutionEngineModules): Promise<ExecutionEngine> {
  const { rpcPort, ...embedded } = opts.embedded;
  const fixedPorts = rpcPort ? { ports: { rpc: rpcPort } } : {};
  const el = opts.url
    ? null
    : await SupervisedEl.start({ ...embedded, ...fixedPorts }, { logger: modules.logger.child({ component: 'el' }), onRestart: modules.onElRestart });
  const url = el?.engineUrl ?? opts.url!;
  const rpcUrl = el?.rpcUrl ?? opts.rpcUrl;
  const api = new HttpEngineClient(engineOptions({ url, rpcUrl, jwtSecret: el?.jwtSecret ?? opts.jwtSecret }));
  try {
    await firstAnswer(api, el !== null);
  } catch (err) {
    await el?.stop();
    throw err;
  }
  return {
    api,
    endpoints: { embedded: el !== null, engineUrl: url, rpcUrl: rpcUrl ?? null },
    process: () => el?.report() ?? null,
    stop: async () => el?.stop(),
  };
}

/** `engine_exchangeCapabilities` until it answers; a refusal of the JWT is final at once, and so is any failure of an external EL. */
async function firstAnswer(api: EngineApi, retry: boolean): Promise<void> {
  const deadline = performance.now() + FIRST_ANSWER_MS;
  for (;;) {
    try {
      await api.exchangeCapabilities();
      return;
    } catch (err) {
      const final = !retry || (err instanceof EngineError && err.code === EngineErrorCode.UNAUTHORIZED) || performance.now() > deadline;
      if (final) throw err;
      await new Promise((resolve) => setTimeout(resolve, FIRST_ANSWER_RETRY_MS));
    }
  }
}
