import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Grant, LeaseBackend } from './interface.js';

export interface ElectorOptions {
  /** This node's name in the lease; also what `current()` reports as the holder. */
  identity: string;
  /** Lease TTL. The seed's default is 15 s; a Baton node uses `--lease-ttl` (2 s). */
  leaseDurationMs?: number;
  /** How often a holder renews. Default: a third of the lease, so two renewals can fail before it lapses. */
  renewIntervalMs?: number;
  /** How often a non-holder tries to acquire. Default 2 s as in the seed; Baton's node uses less. */
  retryIntervalMs?: number;
  /** Consecutive failed renewals (errors, not refusals) after which the holder demotes itself. */
  maxRenewFailures?: number;
  /**
   * Safety margin: a holder stops calling itself leader at `t0 + ttl − margin`, t0 being its
   * monotonic clock before the acquire/renew request left. Covers clock-rate drift and the time the
   * backend took to apply the request. Default: a tenth of the lease, at least 100 ms.
   */
  marginMs?: number;
  /** Published with the lease (e.g. the advertised API URL members sync from). */
  meta?: Record<string, string>;
  /**
   * Asked before every acquire attempt: a reason not to campaign now (EL down, operator pause),
   * or null. A node that could not build should not take the lease from one that can.
   */
  campaignGate?: () => string | null;
}

export const ELECTOR_DEFAULTS = {
  leaseDurationMs: 15_000,
  renewIntervalMs: 5_000,
  retryIntervalMs: 2_000,
  maxRenewFailures: 3,
} as const;

/** Retry period of a transfer target while it races for the released lease. */
const EAGER_RETRY_MS = 10;

export interface LeadershipAcquired {
  epoch: bigint;
  /** `performance.now()` after which this holder must not act as leader. */
  validUntil: number;
}

export interface ElectorEvents {
  acquired: [LeadershipAcquired];
  renewed: [LeadershipAcquired];
  lost: [{ epoch: bigint; reason: string }];
}

/**
 * Leader election over any `LeaseBackend` (the seed's Manager/Lease API, plus fencing epochs).
 *
 * Leadership is judged by this process's monotonic clock, never by the backend's answer alone: a
 * holder is leader only until `t0 + ttl − margin`. A renew that hangs therefore demotes the holder
 * by itself (a watchdog fires `lost` at the deadline), before any other node can acquire.
 */
export class Elector extends EventEmitter<ElectorEvents> {
  private readonly opts: Required<Omit<ElectorOptions, 'meta' | 'campaignGate'>> & Pick<ElectorOptions, 'meta' | 'campaignGate'>;
  private grant: Grant | null = null;
  private validUntil = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private stopController: AbortController | null = null;
  private paused = false;
  /** After a step-down, no campaigning before this `performance.now()`: a standby gets its turn. */
  private holdOffUntil = 0;
  /** Until this `performance.now()`, retry every EAGER_RETRY_MS: the named target of a leadership transfer. */
  private eagerUntil = 0;
  /** Aborted to cut a retry sleep short (`campaignNow`). */
  private wake = new AbortController();
  /** Why this node is not campaigning right now, or null (shown on `/health`). */
  private blockedReason: string | null = null;

  constructor(
    private readonly backend: LeaseBackend,
    opts: ElectorOptions,
    private readonly logger?: Logger,
  ) {
    super();
    const leaseDurationMs = opts.leaseDurationMs ?? ELECTOR_DEFAULTS.leaseDurationMs;
    this.opts = {
      identity: opts.identity,
      leaseDurationMs,
      renewIntervalMs: opts.renewIntervalMs ?? Math.min(ELECTOR_DEFAULTS.renewIntervalMs, Math.floor(leaseDurationMs / 3)),
      retryIntervalMs: opts.retryIntervalMs ?? ELECTOR_DEFAULTS.retryIntervalMs,
      maxRenewFailures: opts.maxRenewFailures ?? ELECTOR_DEFAULTS.maxRenewFailures,
      marginMs: opts.marginMs ?? Math.max(100, Math.floor(leaseDurationMs / 10)),
      meta: opts.meta,
      campaignGate: opts.campaignGate,
    };
  }

  /** Campaign and hold leadership until `signal` aborts or `stop()` is called. */
  start(signal?: AbortSignal): void {
    if (this.running) throw new Error('elector already started');
    this.stopController = new AbortController();
    const combined = signal ? AbortSignal.any([signal, this.stopController.signal]) : this.stopController.signal;
    this.running = this.run(combined);
    // A released lease wakes a standby at once (a hint; without it the standby retries on its interval).
    this.backend.watchReleases?.(combined, () => {
      if (this.grant === null) this.wake.abort();
    });
  }

  isLeader(): boolean {
    return this.grant !== null && performance.now() < this.validUntil;
  }

  /** The fencing token of the current term, or null when not leader. */
  epoch(): bigint | null {
    return this.isLeader() ? this.grant!.epoch : null;
  }

  /** Resolves with the epoch once this node leads (at once if it does now). */
  async waitForLeadership(signal?: AbortSignal): Promise<bigint> {
    if (this.isLeader()) return this.grant!.epoch;
    const [event] = (await EventEmitter.once(this, 'acquired', { signal })) as [LeadershipAcquired];
    return event.epoch;
  }

  /**
   * Stop campaigning; while paused nobody here acquires (operator pause). A holder releases at once,
   * and the promise settles once it has, so a caller knows production here has stopped.
   */
  async setPaused(paused: boolean): Promise<void> {
    this.paused = paused;
    // Said at once, not at the loop's next turn (a holder's loop may be asleep until its renewal).
    this.blockedReason = this.opts.campaignGate?.() ?? (paused ? 'paused' : null);
    if (paused) await this.releaseHeld('paused');
    else this.wake.abort();
  }

  /** Why this node does not campaign now (its `campaignGate`'s answer), or null. */
  notCampaigningBecause(): string | null {
    return this.grant === null ? this.blockedReason : null;
  }

  /**
   * Campaign at once and then every few milliseconds for `windowMs`: the target of a leadership
   * transfer races the other standbys (who retry at `retryIntervalMs`) for the lease the old
   * leader is about to release.
   */
  campaignNow(windowMs: number): void {
    this.eagerUntil = performance.now() + windowMs;
    this.holdOffUntil = 0;
    this.wake.abort();
  }

  /** Give up the lease now so a standby can acquire it, and stay out of the race for `holdOffMs` (default: one lease). */
  async stepDown(reason: string, holdOffMs = this.opts.leaseDurationMs): Promise<void> {
    this.holdOffUntil = performance.now() + holdOffMs;
    await this.releaseHeld(reason);
  }

  /** Stop campaigning and release the lease; resolves only once it is released. */
  async stop(): Promise<void> {
    this.stopController?.abort();
    await this.running;
    this.running = null;
  }

  private async run(signal: AbortSignal): Promise<void> {
    try {
      while (!signal.aborted) {
        if (this.paused) {
          this.blockedReason = this.opts.campaignGate?.() ?? 'paused';
          await this.releaseHeld('paused');
          await this.pause(this.opts.retryIntervalMs, signal);
        } else if (this.grant === null) {
          // A loop: a release notice wakes the pause, but only campaignNow ends a hold-off.
          while (this.holdOffUntil > performance.now()) await this.pause(this.holdOffUntil - performance.now(), signal);
          this.blockedReason = this.opts.campaignGate?.() ?? null;
          if (this.blockedReason === null) await this.tryAcquire(signal);
          if (this.grant === null) await this.pause(performance.now() < this.eagerUntil ? EAGER_RETRY_MS : this.opts.retryIntervalMs, signal);
        } else {
          await sleep(this.opts.renewIntervalMs, undefined, { signal });
          await this.renew(signal);
        }
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      await this.releaseHeld('stopped');
    }
  }

  /** Sleeps between attempts; `campaignNow` cuts it short, `signal` ends it (and the loop). */
  private async pause(ms: number, signal: AbortSignal): Promise<void> {
    if (this.wake.signal.aborted) this.wake = new AbortController();
    try {
      await sleep(ms, undefined, { signal: AbortSignal.any([signal, this.wake.signal]) });
    } catch (err) {
      if (signal.aborted) throw err;
    }
  }

  private async tryAcquire(signal: AbortSignal): Promise<void> {
    const t0 = performance.now();
    let grant: Grant | null;
    try {
      grant = await this.backend.tryAcquire(this.opts.identity, this.opts.leaseDurationMs, signal, this.opts.meta);
    } catch (err) {
      if (!signal.aborted) this.logger?.warn({ err }, 'Lease acquire failed');
      return;
    }
    if (grant === null) return;
    if (signal.aborted) {
      await this.backend.release(this.opts.identity, grant).catch(() => {});
      return;
    }
    this.grant = grant;
    this.extend(t0);
    this.logger?.info({ epoch: grant.epoch }, 'Leadership acquired');
    this.emit('acquired', { epoch: grant.epoch, validUntil: this.validUntil });
  }

  private async renew(signal: AbortSignal): Promise<void> {
    const grant = this.grant;
    if (!grant) return;
    let failures = 0;
    while (!signal.aborted && this.grant === grant) {
      const t0 = performance.now();
      // A renew may not outlive the local deadline: past it we are no longer leader anyway.
      const timeout = AbortSignal.timeout(Math.max(1, Math.ceil(this.validUntil - t0)));
      try {
        const renewed = await this.backend.renew(this.opts.identity, grant, this.opts.leaseDurationMs, AbortSignal.any([signal, timeout]));
        if (this.grant !== grant) return; // demoted by the watchdog while the renew was in flight
        if (renewed === null) return this.demote('lease taken or expired');
        this.grant = renewed;
        this.extend(t0);
        this.emit('renewed', { epoch: renewed.epoch, validUntil: this.validUntil });
        return;
      } catch (err) {
        if (signal.aborted || this.grant !== grant) return;
        failures++;
        this.logger?.warn({ err, failures }, 'Lease renew failed');
        if (failures >= this.opts.maxRenewFailures) return this.demote(`${failures} consecutive renew failures`);
        await sleep(Math.min(this.opts.renewIntervalMs, 100 * failures), undefined, { signal }).catch(() => {});
      }
    }
  }

  private extend(t0: number): void {
    this.validUntil = t0 + this.opts.leaseDurationMs - this.opts.marginMs;
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.demote('local lease deadline passed without a renewal'), Math.max(0, this.validUntil - performance.now()));
  }

  /** Ends this node's term; `deliberate` (a stop, pause or step-down) is logged at info, a lost lease at warn. */
  private demote(reason: string, deliberate = false): void {
    const grant = this.grant;
    if (!grant) return;
    this.grant = null;
    this.validUntil = 0;
    clearTimeout(this.watchdog);
    if (deliberate) this.logger?.info({ epoch: grant.epoch, reason }, 'Leadership given up');
    else this.logger?.warn({ epoch: grant.epoch, reason }, 'Leadership lost');
    this.emit('lost', { epoch: grant.epoch, reason });
  }

  private async releaseHeld(reason: string): Promise<void> {
    const grant = this.grant;
    if (!grant) return;
    this.demote(reason, true);
    try {
      await this.backend.release(this.opts.identity, grant);
      this.logger?.info({ epoch: grant.epoch, reason }, 'Lease released');
    } catch (err) {
      this.logger?.warn({ err }, 'Lease release failed; it expires after its TTL');
    }
  }
}
