/** Per-method request timeouts in milliseconds. */
export interface EngineTimeouts {
  /** Spec: 8 s. The EL may execute the head block before answering. */
  forkchoiceUpdatedMs: number;
  /** Spec: 1 s. The EL only seals what it has been building since the fcU. */
  getPayloadMs: number;
  /** Spec: 8 s. The EL executes the whole block before answering. */
  newPayloadMs: number;
  /** Spec: 1 s. A capability list is static. */
  exchangeCapabilitiesMs: number;
  /**
   * Not in the spec (plain `eth_` calls). 5 s: long enough for `eth_sendRawTransaction` on a
   * busy txpool, short enough that a hung EL shows up before the lease TTL runs out.
   */
  ethMs: number;
}

export interface EngineOptions {
  /** Authenticated Engine API endpoint, e.g. `http://127.0.0.1:8551`. */
  url: string;
  /**
   * The EL's plain JSON-RPC endpoint for the `eth_` helpers. ELs such as @ethereumjs/client
   * serve only a few `eth_` methods on the engine port, so a separate URL is used when known.
   * Defaults to `url`.
   */
  rpcUrl?: string;
  /**
   * HS256 key shared with the EL (`--jwt-secret` / `--jwt-secret-file`). Without it no
   * Authorization header is sent, which only an EL with engine auth disabled accepts.
   */
  jwtSecret?: Uint8Array;
  timeouts: EngineTimeouts;
}

/** Spec timeouts from execution-apis `src/engine/*.md` ("Timeout: …" of each method). */
export const defaultEngineTimeouts: EngineTimeouts = {
  forkchoiceUpdatedMs: 8_000,
  getPayloadMs: 1_000,
  newPayloadMs: 8_000,
  exchangeCapabilitiesMs: 1_000,
  ethMs: 5_000,
};

/** Fills in the defaults; explicit `timeouts` fields win over the spec values. */
export function engineOptions(opts: Omit<EngineOptions, 'timeouts'> & { timeouts?: Partial<EngineTimeouts> }): EngineOptions {
  return { ...opts, timeouts: { ...defaultEngineTimeouts, ...opts.timeouts } };
}
