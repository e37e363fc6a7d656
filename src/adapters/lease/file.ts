import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import lockfile from 'proper-lockfile';
import { LeaseError, LeaseErrorCode } from './errors.js';
import type { Grant, LeaseBackend, LeaseHolder } from './interface.js';
import { defaultFileLeaseOptions, type FileLeaseOptions } from './options.js';
import { abortable, abortedError, checkTtl, releaseLateGrant } from './util.js';

/** The lease file. `epoch` is a decimal string because JSON numbers lose precision past 2^53. */
interface LeaseState {
  holder: string | null;
  epoch: string;
  /** Wall-clock (Date.now()) expiry: every contender runs on this machine and reads one clock. */
  expiresAtMs: number;
  meta?: Record<string, string>;
}

const FREE: LeaseState = { holder: null, epoch: '0', expiresAtMs: 0 };

/**
 * A lease in a JSON file, for local development (several nodes on one machine, no Redis).
 *
 * Mutual exclusion: every change is a read-modify-write under a proper-lockfile lock
 * (`<path>.lock`, an atomic mkdir), and the new state replaces the file by rename, so readers and
 * crashes never see half a file. The lock is held for milliseconds; if its holder dies inside that
 * window the lock counts as abandoned after `lockStaleMs`. Leadership itself is judged by
 * `expiresAtMs` on the wall clock, so a crashed holder blocks others for at most its TTL; a clock
 * jump moves every expiry (acceptable for local development, not for production).
 */
export class FileLease implements LeaseBackend {
  private readonly path: string;
  private readonly opts: Required<Omit<FileLeaseOptions, 'path'>>;
  private readonly logger: Logger;
  private dirReady: Promise<unknown> | undefined;

  constructor(opts: FileLeaseOptions, modules: { logger: Logger }) {
    this.path = opts.path;
    this.opts = { ...defaultFileLeaseOptions, ...opts };
    this.logger = modules.logger;
  }

  async tryAcquire(id: string, ttlMs: number, signal: AbortSignal, meta?: Record<string, string>): Promise<Grant | null> {
    checkTtl(ttlMs);
    const acquire = (): Promise<Grant | null> =>
      this.update(signal, (state, now) => {
        if (state.holder !== null && state.expiresAtMs > now) return { result: null };
        const epoch = BigInt(state.epoch) + 1n;
        const next: LeaseState = { holder: id, epoch: epoch.toString(), expiresAtMs: now + ttlMs };
        if (meta && Object.keys(meta).length > 0) next.meta = meta;
        return { next, result: { epoch } };
      });
    return abortable(signal, acquire, (late) => releaseLateGrant(this, id, late, this.logger));
  }

  async renew(id: string, grant: Grant, ttlMs: number, signal: AbortSignal): Promise<Grant | null> {
    checkTtl(ttlMs);
    return abortable(signal, () =>
      this.update(signal, (state, now) =>
        holds(state, id, grant) && state.expiresAtMs > now ? { next: { ...state, expiresAtMs: now + ttlMs }, result: grant } : { result: null },
      ),
    );
  }

  async release(id: string, grant: Grant): Promise<void> {
    await this.update(undefined, (state) => (holds(state, id, grant) ? { next: { ...FREE, epoch: state.epoch }, result: undefined } : { result: undefined }));
  }

  async current(signal: AbortSignal): Promise<LeaseHolder | null> {
    return abortable(signal, async () => {
      // No lock: the file is only ever replaced by rename, so a read sees one whole state.
      const state = await this.read();
      if (state.holder === null || state.expiresAtMs <= Date.now()) return null;
      const holder: LeaseHolder = { holder: state.holder, epoch: BigInt(state.epoch) };
      if (state.meta) holder.meta = state.meta;
      return holder;
    });
  }

  /** One critical section: lock, read, decide, write if changed, unlock. */
  private async update<T>(signal: AbortSignal | undefined, decide: (state: LeaseState, nowMs: number) => { next?: LeaseState; result: T }): Promise<T> {
    const unlock = await this.lock(signal);
    try {
      const { next, result } = decide(await this.read(), Date.now());
      if (next) await this.write(next);
      return result;
    } finally {
      await unlock();
    }
  }

  private async lock(signal: AbortSignal | undefined): Promise<() => Promise<void>> {
    await (this.dirReady ??= mkdir(dirname(this.path), { recursive: true }));
    for (;;) {
      if (signal?.aborted) throw abortedError(signal);
      try {
        return await lockfile.lock(this.path, {
          realpath: false,
          stale: this.opts.lockStaleMs,
          retries: 0,
          // Only possible if this process stalled for longer than lockStaleMs mid-update.
          onCompromised: (err) => this.logger.error({ err, path: this.path }, 'Lease file lock compromised'),
        });
      } catch (err) {
        if ((err as { code?: string }).code !== 'ELOCKED') throw err;
      }
      await sleep(this.opts.lockRetryMs * (1 + Math.random()));
    }
  }

  private async read(): Promise<LeaseState> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return FREE;
      throw err;
    }
    let state: unknown;
    try {
      state = JSON.parse(text);
    } catch {
      state = undefined;
    }
    if (!isLeaseState(state)) {
      throw new LeaseError(LeaseErrorCode.LEASE_CORRUPT, `lease file ${this.path} is not a valid lease`, { path: this.path });
    }
    return state;
  }

  /** Write a temporary file, fsync it, rename it over the lease: the epoch survives a crash. */
  private async write(state: LeaseState): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(JSON.stringify(state));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.path);
  }
}

function holds(state: LeaseState, id: string, grant: Grant): boolean {
  return state.holder === id && state.epoch === grant.epoch.toString();
}

function isLeaseState(x: unknown): x is LeaseState {
  const s = x as Partial<LeaseState> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    (s.holder === null || typeof s.holder === 'string') &&
    typeof s.epoch === 'string' &&
    /^\d+$/.test(s.epoch) &&
    typeof s.expiresAtMs === 'number' &&
    (s.meta === undefined || (typeof s.meta === 'object' && s.meta !== null))
  );
}
