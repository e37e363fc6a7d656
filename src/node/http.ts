import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ExecutionEngine } from '../adapters/engine/index.js';
import { ethRpcForwarder, ethRpcMethods, JsonRpcUpstream } from '../adapters/ethRpc/index.js';
import { registerBlockRoutes } from '../adapters/http/blocksApi.js';
import { defaultBlocksApiOptions, type HealthReport, type HttpServer } from '../adapters/http/index.js';
import { type JsonRpcMethod, registerJsonRpc } from '../adapters/http/jsonRpc.js';
import type { LeaseBackend } from '../adapters/lease/interface.js';
import { type MempoolService, mempoolOffRpcMethods, registerTxRoutes } from '../adapters/mempool/index.js';
import type { IBlockStore } from '../adapters/postgres/interface.js';
import type { Supervisor, SupervisorModules } from '../runtime/supervisor.js';
import { adminMethods } from './admin.js';
import { healthReport } from './health.js';
import type { NodeOptions } from './options.js';
import type { StatusBoard } from './status.js';
import { actors, type TreeState } from './tree.js';

/** `GET /` on the API address: one static page that polls `/status` and follows the live feed. */
const STATUS_PAGE = readFileSync(new URL('./statusPage.html', import.meta.url), 'utf8');

export interface ApiRouteModules {
  logger: Logger;
  store: IBlockStore;
  report: StatusBoard;
  mempool: MempoolService | null;
  lease: LeaseBackend;
  engine: ExecutionEngine;
  runtime: SupervisorModules;
  /** The supervisor, once it exists (requests may arrive before it does). */
  supervisor: () => Supervisor | null;
  treeState: TreeState;
  /** Told the hash of each transaction `eth_sendRawTransaction` accepted here (`newPendingTransactions`). */
  onTransactionAccepted?: (hash: string) => void;
}

/**
 * The API address's routes besides the feed: the status page and `/status`, the block API,
 * `/txs/{hash}`, and JSON-RPC on `POST /rpc`: the Ethereum methods (allow-listed reads forwarded to
 * this node's EL, writes to the shared mempool or the leader), the mempool's, and the admin methods
 * behind `--admin-token`. Returns what `/health` reports, now that there is a node to report on.
 */
export function registerApiRoutes(api: HttpServer, o: NodeOptions, m: ApiRouteModules): () => HealthReport {
  const { logger, report, runtime } = m;
  const executionClient = () => {
    const process = m.engine.process();
    return {
      ...m.engine.endpoints,
      reachable: !report.current.problems.el,
      head: report.current.elHead,
      restarts: process?.restarts ?? 0,
      ...(process ? { process } : {}),
    };
  };
  const health = () => healthReport(report, m.supervisor()?.restartCounts() ?? {}, executionClient(), runtime.chaos.enabled ? runtime.chaos.injected() : null);
  registerBlockRoutes(api, defaultBlocksApiOptions, { logger, store: m.store });
  api.get('/', (reply) => reply.send(200, 'text/html; charset=utf-8', STATUS_PAGE));
  api.get('/status', (reply) => reply.json(200, health().body));
  registerTxRoutes(api, m.mempool?.mempool ?? null);
  const supervisor = () => {
    const s = m.supervisor();
    if (!s) throw new Error('the node is still starting');
    return s;
  };
  const admin = adminMethods(
    { identity: o.instanceId, leaseTtlMs: o.lease.ttlMs, adminToken: o.adminToken ?? '' },
    {
      status: report,
      backend: m.lease,
      elector: o.role === 'leader' ? { ask: (msg, timeoutMs) => supervisor().ask(actors.elector, msg, timeoutMs) } : null,
      onPaused: (paused) => {
        m.treeState.paused = paused;
      },
      logger,
      chaos: { injectFault: (actor, fault) => supervisor().injectFault(actor, fault), killWorker: (task) => runtime.chaos.killWorker(task) },
    },
  );
  const mempoolMethods = m.mempool?.rpc ?? mempoolOffRpcMethods;
  // An external EL without --eth-rpc-url has no plain JSON-RPC to forward to: then only Baton's own methods answer.
  const elRpcUrl = m.engine.endpoints.rpcUrl;
  const el = elRpcUrl ? new JsonRpcUpstream(elRpcUrl) : null;
  const eth = el
    ? ethRpcMethods({
        el,
        pool: runtime.pool,
        mempool: m.mempool?.mempool ?? null,
        submitToMempool: m.mempool ? (params) => m.mempool!.rpc.eth_sendRawTransaction.handler(params) : null,
        leadership: () => ({ isLeader: report.current.isLeader, leaderApiUrl: o.leaderUrl ?? report.current.leaderApiUrl }),
      })
    : {};
  const methods: Record<string, JsonRpcMethod> = { ...mempoolMethods, ...eth, ...admin };
  const send = methods.eth_sendRawTransaction;
  const accepted = m.onTransactionAccepted;
  if (send && accepted) {
    methods.eth_sendRawTransaction = {
      ...send,
      handler: async (params, context) => {
        const hash = await send.handler(params, context);
        if (typeof hash === 'string') accepted(hash);
        return hash;
      },
    };
  }
  registerJsonRpc(api, { path: '/rpc', adminToken: o.adminToken, ...(el ? { forward: ethRpcForwarder(el) } : {}) }, methods, (err, method) =>
    logger.error({ err, method }, 'JSON-RPC method failed'),
  );
  if (!o.adminToken) logger.info('Admin JSON-RPC methods are off (no --admin-token)');
  return health;
}
