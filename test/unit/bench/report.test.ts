import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { parseSections, runBenches, writeReport } from '../../../bench/index.js';

test('npm run bench, quick, on the smallest bench: the report holds measured figures with their ratios and is written as JSON', async (t) => {
  t.timeout(120_000);
  const lines: string[] = [];
  const report = await runBenches(['runtime'], true, (line) => lines.push(line));
  t.deepEqual(report.failed, []);
  t.true(
    lines.some((l) => l.includes('runtime')),
    'progress is shown',
  );
  const [section] = report.sections;
  t.regex(section!.title, /^Runtime/);
  for (const row of section!.rows) {
    t.true(Number.isFinite(row.value) && row.value > 0, `${row.figure} measured`);
    t.true(Number.isFinite(row.ratio), `${row.figure} has a ratio against its same-run baseline`);
  }
  const file = await writeReport(report, await mkdtemp(join(tmpdir(), 'baton-bench-results-')));
  const written = JSON.parse(await readFile(file, 'utf8'));
  t.is(written.machine.cores, report.machine.cores);
  t.deepEqual(written.sections, report.sections);
});

test('a malformed section line is an error, not a silently missing figure', (t) => {
  t.throws(() => parseSections('{"title":"x","rows":[{"figure":"a"}]}\n'), { message: /no figure or value/ });
  t.throws(() => parseSections('{"rows":[]}\n'), { message: /not \{title, rows\}/ });
  t.throws(() => parseSections('{"title":"x","rows":[]'));
  t.deepEqual(parseSections('\n{"title":"x","rows":[{"figure":"a","value":1,"unit":"ms"}]}\n'), [
    { title: 'x', rows: [{ figure: 'a', value: 1, unit: 'ms' }] },
  ]);
});
