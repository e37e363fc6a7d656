/** The three ports the embedded EL listens on. */
export interface ElPorts {
  /** Authenticated Engine API (HTTP). */
  engine: number;
  /** Plain JSON-RPC (`eth_`, `txpool_`, …) without auth; the client serves only a few `eth_` methods on the engine port. */
  rpc: number;
  /** RLPx TCP and discovery UDP. Unused with discovery off, but the client always binds it (on 0.0.0.0). */
  p2p: number;
}

export interface EmbeddedElOptions {
  /**
   * Everything the EL keeps: its databases, the stored genesis, the JWT secret and the log.
   * Starting again on the same directory continues the same chain with the same secret.
   */
  dataDir: string;
  /**
   * `--genesis`: a Geth genesis JSON replacing the default dev genesis. Only needed on the first
   * start; later starts reuse the copy in `dataDir` and refuse a different one.
   */
  genesisPath?: string;
  /** Interface of the Engine API and JSON-RPC servers. Loopback: the Engine API is for this node only. */
  host: string;
  /** Fixed ports; any port left out is picked free at each start. */
  ports?: Partial<ElPorts>;
  /**
   * How long the Engine API may take to answer after spawn. The client starts in ~1–2 s; 60 s
   * covers a cold disk cache and a large state on a slow CI machine.
   */
  startTimeoutMs: number;
  /**
   * Grace period after SIGTERM before SIGKILL. The client closes its databases on SIGTERM and has
   * been seen to need several seconds for it; killing it earlier risks a LevelDB recovery on the
   * next start.
   */
  stopTimeoutMs: number;
  /** The client's console log level, captured in `<dataDir>/el.log`. */
  logLevel: 'error' | 'warn' | 'info' | 'debug';
}

export const defaultEmbeddedElOptions: Omit<EmbeddedElOptions, 'dataDir'> = {
  host: '127.0.0.1',
  startTimeoutMs: 60_000,
  stopTimeoutMs: 10_000,
  logLevel: 'info',
};
