/**
 * `npm start -- --role leader`: parse the configuration, start the node, and map outcomes to exit
 * codes — 0 after a clean SIGINT/SIGTERM, 2 for a bad flag or an unreachable dependency at start
 * (one line naming the flag), 1 when the supervisor escalated (the process manager restarts us).
 */
import pino from 'pino';
import { StartupError } from '../node/errors.js';
import { exitOnConfigError, helpText, parseConfig } from './config.js';
import { ConfigError } from './errors.js';
import { flagFor, nodeOptions } from './nodeOptions.js';

let parsed: ReturnType<typeof parseConfig>;
try {
  parsed = parseConfig(process.argv.slice(2), process.env);
} catch (err) {
  exitOnConfigError(err);
}
if ('help' in parsed) {
  process.stdout.write(`${helpText()}\n`);
  process.exit(0);
}
const config = parsed;
/** JSON lines for log shippers; pretty only for a person at a terminal (a pipe or a file gets JSON). */
const logger = pino({
  level: config.logLevel,
  base: { instance: config.instanceId },
  ...(process.stdout.isTTY ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
});

// Loaded only now: the node's modules (PGlite, the Engine API client, …) take a second or more to
// load, and a mistyped flag should be refused before that.
const { startNode } = await import('../node/index.js');
const node = await startNode(nodeOptions(config), logger).catch((err: unknown) => {
  if (err instanceof StartupError) {
    const flag = flagFor(err.dependency, config);
    exitOnConfigError(new ConfigError(`${flag}: ${err.message}`, { key: flag }));
  }
  logger.fatal({ err }, 'Node failed to start');
  process.exit(1);
});

let signalled = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'Stopping: releasing leadership and closing connections');
    void node.stop();
  });
}

try {
  await node.stopped;
  logger.info('Stopped');
  process.exit(0);
} catch (err) {
  logger.fatal({ err }, 'Node stopped after escalation');
  process.exit(1);
}
