import type { Registry } from 'prom-client';
import type { HttpServer } from './server.js';

/** What the node reports on /health (DESIGN §6): `healthy` picks 200 or 503, `body` is served as JSON. */
export interface HealthReport {
  healthy: boolean;
  body: object;
}

export interface HealthRoutesModules {
  /** Called per request, synchronously: health is read from state the node already holds. */
  health: () => HealthReport;
  registry: Registry;
}

/** `GET /health` for load balancers and process managers, `GET /metrics` for Prometheus. */
export function registerHealthRoutes(server: HttpServer, modules: HealthRoutesModules): void {
  const { health, registry } = modules;
  server.get('/health', (reply) => {
    const { healthy, body } = health();
    reply.json(healthy ? 200 : 503, body);
  });
  server.get('/metrics', async (reply) => {
    reply.send(200, registry.contentType, await registry.metrics());
  });
}
