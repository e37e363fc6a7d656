import { createServer, type Server } from 'node:net';

/**
 * Picks `count` distinct free TCP ports on `host` by binding port-0 sockets, reading the numbers
 * and closing them. All sockets stay open until every port is read, so the kernel cannot hand the
 * same number out twice. A small race remains (another process may take a port before the child
 * binds it); the caller sees it as a failed start.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolve());
      });
    }
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === 'string') throw new Error(`no TCP address for a socket on ${host}`);
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/**
 * Whether `port` on `host` can be bound now: checked before a child is spawned on a fixed port,
 * so a taken one is a clear start error rather than a child that dies with EADDRINUSE in its log.
 */
export async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  const server = createServer();
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, host, () => resolve(true));
  });
  if (bound) await new Promise<void>((resolve) => server.close(() => resolve()));
  return bound;
}
