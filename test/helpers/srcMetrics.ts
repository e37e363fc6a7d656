import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/**
 * Every Prometheus metric the code registers, read from the source (`new Gauge({ name: 'baton_…'`),
 * so the dashboard and the docs are checked against what a node really exports.
 */
export function registeredMetrics(): Map<string, MetricType> {
  const out = new Map<string, MetricType>();
  const pattern = /new (Counter|Gauge|Histogram|Summary)(?:<[^>]*>)?\(\{\s*name:\s*['"](baton_[a-z0-9_]+)['"]/g;
  for (const file of tsFiles(SRC)) {
    for (const m of readFileSync(file, 'utf8').matchAll(pattern)) out.set(m[2]!, m[1]!.toLowerCase() as MetricType);
  }
  return out;
}

/** The metric a series name belongs to: histograms export `_bucket`, `_sum` and `_count` series. */
export function metricOfSeries(series: string, metrics: Map<string, MetricType>): string | undefined {
  if (metrics.has(series)) return series;
  const m = /^(.*)_(bucket|sum|count)$/.exec(series);
  if (m && (metrics.get(m[1]!) === 'histogram' || (m[2] !== 'bucket' && metrics.get(m[1]!) === 'summary'))) return m[1];
  return undefined;
}
