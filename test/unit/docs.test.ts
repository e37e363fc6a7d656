/**
 * The docs say what the code does: `docs/configuration.md` is exactly what the schema generates,
 * its example config file is accepted, the operator guide lists every metric the code registers,
 * and every option named in the docs (`--flag` of a `npm start` command, `BATON_*`) exists. The
 * docs also stand alone: nothing points outside the repository, and every relative link (and its
 * `#anchor`) resolves.
 */

import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { CONFIG_DOCS_PATH, configDocs } from '../../scripts/gen-config-docs.js';
import { parseConfig } from '../../src/cli/config.js';
import { envName, flagName, type OptionSpec, options } from '../../src/cli/options.js';
import { metricOfSeries, registeredMetrics } from '../helpers/srcMetrics.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
/** README.md and every markdown file directly in docs/. */
const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

/** Every file under `dir` (repository-relative), recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    return statSync(join(ROOT, path)).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Markdown without its fenced code blocks. */
function withoutFences(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/** Markdown without fenced code blocks and inline code, where `[x](y)` is not a link. */
function proseOf(markdown: string): string {
  return withoutFences(markdown).replace(/`[^`\n]*`/g, '');
}

/** The link targets of a markdown text: inline `[text](target)` and reference definitions `[id]: target`. */
function linkTargets(markdown: string): string[] {
  const prose = proseOf(markdown);
  const inline = [...prose.matchAll(/\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const references = [...prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!);
  return [...inline, ...references];
}

/** GitHub's heading anchors: lower-case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, heading] of withoutFences(markdown)
    .replace(/`([^`\n]*)`/g, '$1')
    .matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = heading!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .trim()
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

test('docs/configuration.md is what `npm run docs:config` generates from the schema', (t) => {
  t.is(readFileSync(CONFIG_DOCS_PATH, 'utf8'), configDocs(), 'out of date: run npm run docs:config');
});

test('the configuration reference lists every flag, alias, env var and default', (t) => {
  const doc = read('docs/configuration.md');
  for (const [key, spec] of Object.entries(options) as [string, OptionSpec<unknown>][]) {
    for (const name of [flagName(key), ...(spec.aliases ?? [])]) t.true(doc.includes(`\`--${name}\``), `--${name}`);
    t.true(doc.includes(`\`${envName(key)}\``), envName(key));
    if (spec.default !== undefined) t.true(doc.includes(`\`${spec.default}\``), `default of ${key}`);
  }
});

test('the example config file in the reference is accepted', (t) => {
  const json = /```json\n([\s\S]*?)\n```/.exec(read('docs/configuration.md'))?.[1];
  t.truthy(json);
  const file = join(mkdtempSync(join(tmpdir(), 'baton-docs-')), 'baton.json');
  writeFileSync(file, json!);
  t.notThrows(() => parseConfig(['--config', file, '--role', 'leader'], {}));
});

test('the operator guide lists exactly the metrics the code registers', (t) => {
  const metrics = registeredMetrics();
  const guide = read('docs/operator-guide.md');
  const section = guide.slice(guide.indexOf('## Prometheus metrics'), guide.indexOf('## Logs'));
  const listed = new Set([...section.matchAll(/^\| `(baton_[a-z0-9_]+)` \|/gm)].map((m) => m[1]!));
  t.deepEqual([...listed].sort(), [...metrics.keys()].sort());
  for (const m of section.matchAll(/^\| `(baton_[a-z0-9_]+)` \| (\w+) \|/gm)) t.is(m[2], metrics.get(m[1]!), `${m[1]} type`);
  for (const m of guide.matchAll(/\bbaton_[a-z_]+_(?:total|seconds|number|size|length|block|leader|epoch|subscribers|transactions|watcher)\b/g)) {
    t.truthy(metricOfSeries(m[0], metrics), `${m[0]} in the guide is a registered metric`);
  }
});

test('every option the docs name exists: npm start flags and BATON_* variables', (t) => {
  const flags = new Set(Object.entries(options as Record<string, OptionSpec<unknown>>).flatMap(([key, spec]) => [flagName(key), ...(spec.aliases ?? [])]));
  const env = new Set(Object.keys(options).map(envName));
  for (const doc of DOCS) {
    const text = read(doc);
    const commands = text
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter((l) => l.startsWith('npm start -- '));
    if (doc === 'docs/operator-guide.md') t.true(commands.length >= 4, "the guide's cluster commands are checked");
    for (const line of commands) {
      for (const m of line.matchAll(/\s--([a-z][a-z-]*)/g)) t.true(flags.has(m[1]!), `${doc}: --${m[1]} in \`${line.slice(0, 60)}…\``);
      t.notThrows(() => parseConfig(line.replace(/^npm start -- /, '').split(/\s+/), {}), `${doc}: ${line.slice(0, 80)}`);
    }
    for (const m of text.matchAll(/\bBATON_[A-Z0-9_]+\b/g)) t.true(env.has(m[0]), `${doc}: ${m[0]}`);
  }
});

test('the docs stand alone: nothing under docs/ and no README.md mentions ../shared', (t) => {
  const files = ['README.md', ...filesUnder('docs')];
  t.true(
    files.includes('docs/architecture.md') && files.includes('docs/http-api.md') && files.includes('docs/feed-protocol.md'),
    'the architecture, HTTP API and feed protocol docs exist',
  );
  for (const file of files) t.false(read(file).includes('../shared'), `${file} mentions ../shared`);
});

test('every relative link in README.md and docs/*.md points to a file in the repository, and its anchor exists', (t) => {
  let checked = 0;
  for (const doc of DOCS) {
    for (const target of linkTargets(read(doc))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not a file of the repository
      const [pathPart, fragment] = target.split('#', 2) as [string, string | undefined];
      const path = decodeURIComponent(pathPart.split('?')[0]!);
      const file = path === '' ? join(ROOT, doc) : path.startsWith('/') ? join(ROOT, path) : resolve(ROOT, dirname(doc), path);
      const where = `${doc}: (${target})`;
      t.false(relative(ROOT, file).startsWith('..'), `${where} points outside the repository`);
      t.true(existsSync(file), `${where} points to a file that does not exist`);
      if (fragment && file.endsWith('.md') && existsSync(file)) {
        t.true(anchorsOf(readFileSync(file, 'utf8')).has(fragment.toLowerCase()), `${where}: no heading #${fragment} in ${relative(ROOT, file)}`);
      }
      checked++;
    }
  }
  t.true(checked >= 20, `${checked} links checked`);
});
