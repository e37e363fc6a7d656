/**
 * The fault controls of the in-memory fakes (`memoryEl.ts`, `memoryStore.ts`): a test arms the next
 * N calls of a method to fail, hang or give a chosen answer, and the fake asks the plan before
 * each call.
 */

/** What an armed call does instead of its normal work. */
export type Fault<A> =
  /** Throw this error (each call gets a fresh one, so a stack trace points at the call). */
  | { kind: 'fail'; error: () => Error }
  /** Never answer; the call rejects with `aborted()` once its `AbortSignal` fires, and never settles without one. */
  | { kind: 'hang'; aborted: () => Error }
  /** Answer this instead of the normal result. */
  | { kind: 'answer'; value: A };

export interface FaultArming<Args extends unknown[] = unknown[]> {
  /** How many matching calls the fault takes (default 1; `Infinity` until `clear`). */
  times?: number;
  /** Only calls whose arguments this accepts are taken (default: every call of the method). */
  match?: (...args: Args) => boolean;
}

interface Armed {
  fault: Fault<unknown>;
  left: number;
  match?: (...args: never[]) => boolean;
}

/** Faults armed per method, taken in the order they were armed. */
export class FaultPlan<Method extends string> {
  private readonly armed = new Map<Method, Armed[]>();

  arm<Args extends unknown[]>(method: Method, fault: Fault<unknown>, arming: FaultArming<Args> = {}): void {
    const list = this.armed.get(method) ?? [];
    list.push({ fault, left: arming.times ?? 1, match: arming.match as Armed['match'] });
    this.armed.set(method, list);
  }

  /** The fault this call of `method` takes, consumed once; undefined for a normal call. */
  take(method: Method, args: unknown[]): Fault<unknown> | undefined {
    const list = this.armed.get(method);
    const armed = list?.find((a) => a.left > 0 && (!a.match || (a.match as (...a: unknown[]) => boolean)(...args)));
    if (!armed) return undefined;
    armed.left--;
    return armed.fault;
  }

  /** Disarms every fault (of one method, or all). */
  clear(method?: Method): void {
    if (method === undefined) this.armed.clear();
    else this.armed.delete(method);
  }
}

/**
 * Runs `normal` unless `fault` says otherwise: throws, answers, or hangs until `signal` aborts (a
 * hang without a signal never settles, as a dead peer's socket would not).
 */
export async function withFault<T>(fault: Fault<unknown> | undefined, signal: AbortSignal | undefined, normal: () => T | Promise<T>): Promise<T> {
  if (!fault) return normal();
  switch (fault.kind) {
    case 'fail':
      throw fault.error();
    case 'answer':
      return fault.value as T;
    case 'hang':
      return new Promise<T>((_, reject) => {
        if (signal?.aborted) return reject(fault.aborted());
        signal?.addEventListener('abort', () => reject(fault.aborted()), { once: true });
      });
  }
}
