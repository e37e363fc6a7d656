/**
 * The HTTP surface on uWebSockets.js (DESIGN §6): a health server (`/health`, `/metrics`) and an
 * API server (`/blocks…`). Both factories return a server that is not yet listening, so the node
 * can add the WebSocket feed and JSON-RPC to the API server's `app` before `listen()`.
 */
import { type BlocksApiModules, registerBlockRoutes } from './blocksApi.js';
import { type HealthRoutesModules, registerHealthRoutes } from './health.js';
import { type BlocksApiOptions, defaultBlocksApiOptions, type ListenAddress } from './options.js';
import { HttpServer, type HttpServerModules } from './server.js';

export { toBlockJson } from './blockJson.js';
export type { BlockSource, BlocksApiModules } from './blocksApi.js';
export { readJsonBody } from './body.js';
export { HttpError, HttpErrorCode } from './errors.js';
export type { HealthReport, HealthRoutesModules } from './health.js';
export { type BlocksApiOptions, defaultBlocksApiOptions, type ListenAddress } from './options.js';
export { bigintToJson, Reply, stringifyJson } from './reply.js';
export { HttpServer, type HttpServerModules, type HttpServerOptions, type RouteHandler } from './server.js';

/** The health server on `--health-addr`: kept apart from the API so probes answer even when the API port is saturated. */
export function createHealthServer(opts: ListenAddress, modules: HttpServerModules & HealthRoutesModules): HttpServer {
  const server = new HttpServer({ ...opts, name: 'health' }, modules);
  registerHealthRoutes(server, modules);
  return server;
}

/** The API server on `--api-addr` with the block routes; the node adds `/feed`, `POST /rpc` and `GET /` to it. */
export function createApiServer(opts: ListenAddress & Partial<BlocksApiOptions>, modules: HttpServerModules & BlocksApiModules): HttpServer {
  const server = new HttpServer({ host: opts.host, port: opts.port, name: 'api' }, modules);
  registerBlockRoutes(server, { ...defaultBlocksApiOptions, ...opts }, modules);
  return server;
}
