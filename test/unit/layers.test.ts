/**
 * The layering of `src/` stays true: imports only run down, `cli` → `node` → `actors` →
 * `adapters` and `tasks` → `types` and `runtime`, and no files or folders import each other in a
 * circle. Read from the source text (relative `import`/`export … from` and `import()`), so it needs
 * no build and fails on the commit that breaks the rule.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

/**
 * Each top folder's layer. A file may import its own folder, or a folder of a lower layer;
 * folders of the same layer (adapters and tasks; types and runtime) stay apart. `index.ts` at the
 * top is the package's public entry, above everything.
 */
const LAYER: Record<string, number> = { 'index.ts': 6, cli: 5, node: 4, actors: 3, adapters: 2, tasks: 2, types: 1, runtime: 1 };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** `src`-relative paths of the files `file` imports (relative specifiers only; `.js` means the `.ts` source). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)].map(
    (m) => m[1] ?? m[2]!,
  );
  return specs.map((spec) => relative(SRC, normalize(join(dirname(file), spec))).replace(/\.js$/, '.ts'));
}

const files = sourceFiles(SRC).map((f) => relative(SRC, f));
const graph = new Map(files.map((f) => [f, importsOf(join(SRC, f)).filter((target) => files.includes(target))]));
const top = (file: string) => file.split('/')[0]!;

/** Strongly connected components with more than one member (Tarjan): each is an import cycle. */
function cycles(edges: Map<string, string[]>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const meta = new Map<string, { index: number; low: number; onStack: boolean }>();
  const found: string[][] = [];
  const visit = (v: string) => {
    meta.set(v, { index, low: index, onStack: true });
    index++;
    stack.push(v);
    for (const w of edges.get(v) ?? []) {
      if (!meta.has(w)) {
        visit(w);
        meta.get(v)!.low = Math.min(meta.get(v)!.low, meta.get(w)!.low);
      } else if (meta.get(w)!.onStack) meta.get(v)!.low = Math.min(meta.get(v)!.low, meta.get(w)!.index);
    }
    if (meta.get(v)!.low === meta.get(v)!.index) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        meta.get(w)!.onStack = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!meta.has(v)) visit(v);
  return found;
}

test('every file of src/ belongs to a layer', (t) => {
  t.deepEqual(
    files.filter((f) => LAYER[top(f)] === undefined),
    [],
  );
});

test('imports only run down the layers: cli → node → actors → adapters, tasks → types, runtime', (t) => {
  const upward: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      if (top(from) === top(to)) continue;
      if (LAYER[top(to)]! >= LAYER[top(from)]!) upward.push(`${from} → ${to}`);
    }
  }
  t.deepEqual(upward, [], 'imports from a layer to the same or a higher one');
});

test('no import cycle between files', (t) => {
  t.deepEqual(cycles(graph), []);
});

test('no import cycle between folders', (t) => {
  const folders = new Map<string, string[]>();
  for (const [from, targets] of graph) {
    const list = folders.get(dirname(from)) ?? [];
    for (const to of targets) if (dirname(to) !== dirname(from)) list.push(dirname(to));
    folders.set(dirname(from), list);
  }
  t.deepEqual(cycles(folders), []);
});
