/**
 * The README's picture of the supervision tree is the tree the node builds: drawn from the child
 * specs (`describeTree`), for a leader-capable node and a member, both with Redis (the watcher).
 */

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { type Config, parseConfig } from '../../../src/cli/config.js';
import { nodeOptions } from '../../../src/cli/nodeOptions.js';
import { nodeTimings } from '../../../src/node/options.js';
import { ROOT_SUPERVISION, supervisionTree, type TreeModules } from '../../../src/node/tree.js';
import { describeTree } from '../../../src/runtime/tree.js';

const README = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');

/** Nothing is started: the tree is only drawn, so the modules are never touched. */
const modules = { mempool: {} } as unknown as TreeModules;

function picture(role: 'leader' | 'member'): string {
  const o = nodeOptions(parseConfig(['--role', role, '--redis-addr', '127.0.0.1:6379'], {}) as Config);
  const children = supervisionTree(o, nodeTimings(o), modules, { paused: false, advertiseUrl: 'http://127.0.0.1:8090' });
  return describeTree({ ...ROOT_SUPERVISION, children });
}

for (const role of ['leader', 'member'] as const) {
  test(`the README shows the supervision tree of a ${role} as the code builds it`, (t) => {
    const block = new RegExp(`\`\`\`text\\n# supervision tree: ${role}\\n([\\s\\S]*?)\\n\`\`\``).exec(README)?.[1];
    t.is(block, picture(role), `README.md's "# supervision tree: ${role}" block should be:\n${picture(role)}`);
  });
}
