import type { Logger } from 'pino';
import { type EmbeddedEl, startEmbeddedEl } from './embedded.js';
import type { ChildExit } from './loggedChild.js';
import type { ElPorts, EmbeddedElOptions } from './options.js';

/** Restart delays after an unplanned exit: 1 s doubling to 30 s, so a crash loop is visible, not a busy loop. */
const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 30_000;
/** An EL that stayed up this long counts as healthy again: the next crash restarts it after the minimum delay. */
const STABLE_AFTER_MS = 60_000;

/** The embedded EL's process as `/health` shows it. */
export interface ElProcessReport {
  /** A child is running now (it may still be starting). */
  running: boolean;
  pid: number | null;
  /** Unplanned exits that were followed by a restart attempt, since the node started. */
  restarts: number;
  lastExit: { code: number | null; signal: string | null; at: string } | null;
  /** Why the last restart attempt failed, while it keeps failing. */
  restartError: string | null;
}

export interface SupervisedElModules {
  logger: Logger;
  /** Counted once per restart attempt (`baton_el_restarts_total`). */
  onRestart?: () => void;
}

/**
 * The embedded EL under a keeper (DESIGN §8): started once, and restarted with backoff whenever it
 * exits without being asked to, on the same ports, data dir and JWT secret, so the Engine API
 * client and everything that holds its URL keep working unchanged. Actors see the outage as
 * Engine API errors and retry; the keeper's restarts show on `/health` and `/metrics`.
 */
export class SupervisedEl {
  private current: EmbeddedEl;
  private stopping = false;
  private restartCount = 0;
  private lastExit: ElProcessReport['lastExit'] = null;
  private restartError: string | null = null;
  private running = true;
  private timer: NodeJS.Timeout | null = null;
  private startedAt = Date.now();
  private delayMs = RESTART_MIN_MS;

  private constructor(
    first: EmbeddedEl,
    private readonly opts: Partial<EmbeddedElOptions> & { dataDir: string },
    private readonly modules: SupervisedElModules,
  ) {
    this.current = first;
    this.watch(first);
  }

  /** Starts the EL; rejects like `startEmbeddedEl` if the first start fails (a start-up error, not a crash). */
  static async start(opts: Partial<EmbeddedElOptions> & { dataDir: string }, modules: SupervisedElModules): Promise<SupervisedEl> {
    const first = await startEmbeddedEl(opts, modules);
    // Later starts keep the first start's ports: the Engine API URL is handed out once.
    return new SupervisedEl(first, { ...opts, ports: first.ports }, modules);
  }

  get engineUrl(): string {
    return this.current.engineUrl;
  }
  get rpcUrl(): string {
    return this.current.rpcUrl;
  }
  get jwtSecret(): Uint8Array {
    return this.current.jwtSecret;
  }
  get ports(): ElPorts {
    return this.current.ports;
  }
  get chainId(): bigint {
    return this.current.chainId;
  }
  get logPath(): string {
    return this.current.logPath;
  }

  report(): ElProcessReport {
    return {
      running: this.running,
      pid: this.running ? this.current.pid : null,
      restarts: this.restartCount,
      lastExit: this.lastExit,
      restartError: this.restartError,
    };
  }

  /** Stops the EL for good (SIGTERM, then SIGKILL after its stop timeout); no restart follows. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.current.stop();
  }

  private watch(el: EmbeddedEl): void {
    this.running = true;
    this.startedAt = Date.now();
    void el.exited.then((exit) => this.onExit(el, exit));
  }

  private onExit(el: EmbeddedEl, exit: ChildExit): void {
    if (this.stopping || el !== this.current) return;
    this.running = false;
    this.lastExit = { code: exit.code, signal: exit.signal, at: new Date().toISOString() };
    if (Date.now() - this.startedAt >= STABLE_AFTER_MS) this.delayMs = RESTART_MIN_MS;
    this.modules.logger.error({ ...exit, pid: el.pid, log: el.logPath, restartInMs: this.delayMs }, 'Embedded EL exited unexpectedly; restarting it');
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const delay = this.delayMs;
    this.delayMs = Math.min(RESTART_MAX_MS, this.delayMs * 2);
    this.timer = setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    this.restartCount++;
    this.modules.onRestart?.();
    try {
      const el = await startEmbeddedEl(this.opts, this.modules);
      if (this.stopping) {
        await el.stop();
        return;
      }
      this.current = el;
      this.restartError = null;
      this.watch(el);
      this.modules.logger.warn({ pid: el.pid, restarts: this.restartCount }, 'Embedded EL restarted');
    } catch (err) {
      this.restartError = (err as Error).message;
      this.modules.logger.error({ err, restartInMs: this.delayMs }, 'Restarting the embedded EL failed; trying again');
      this.scheduleRestart();
    }
  }
}
