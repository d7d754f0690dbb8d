/**
 * Which `vanelia_*` series the code exports, read from the source at test time, and which metric names
 * a PromQL expression uses. Dashboards, alerts and autoscalers are checked against the first with the
 * second, so a renamed metric breaks the test instead of a graph.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { REPO_ROOT } from './chart';

export interface ExportedMetrics {
  /** Every series name a scrape can show (histogram/summary suffixes included). */
  series: Set<string>;
  /** Where each declared metric was found (name -> file). */
  declaredIn: Map<string, string>;
}

const METRIC_TYPES = ['Counter', 'Gauge', 'Histogram', 'Summary'] as const;
const SOURCE_ROOTS = ['packages', 'services'];

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'test' || entry === 'gen' || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (/\.(ts|mts|js|mjs)$/.test(entry) && !/\.(test|spec)\./.test(entry)) out.push(path);
  }
  return out;
}

/** Series a metric of `type` named `name` produces. */
export function seriesOf(type: (typeof METRIC_TYPES)[number], name: string): string[] {
  if (type === 'Histogram') return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
  if (type === 'Summary') return [name, `${name}_sum`, `${name}_count`];
  return [name];
}

/**
 * Scans `new Counter|Gauge|Histogram|Summary({ … name: 'vanelia_…' …})` in the packages' and services'
 * sources, plus prom-client's default metrics under the prefix given to `collectDefaultMetrics`.
 */
export function exportedMetrics(roots: string[] = SOURCE_ROOTS.map((r) => join(REPO_ROOT, r))): ExportedMetrics {
  const series = new Set<string>();
  const declaredIn = new Map<string, string>();
  const declaration = new RegExp(`new\\s+(${METRIC_TYPES.join('|')})\\s*(?:<[^>]*>)?\\(\\s*\\{[^}]*?\\bname:\\s*['"\`](vanelia_[a-z0-9_]+)['"\`]`, 'g');
  const defaultPrefix = /collectDefaultMetrics\(\s*\{[^}]*\bprefix:\s*['"`]([a-z0-9_]+)['"`]/g;
  for (const root of roots) {
    for (const file of sourceFiles(root)) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(declaration)) {
        const [, type, name] = match;
        for (const s of seriesOf(type as (typeof METRIC_TYPES)[number], name)) series.add(s);
        declaredIn.set(name, file);
      }
      for (const match of text.matchAll(defaultPrefix)) {
        for (const name of defaultMetricSeries(match[1])) series.add(name);
        declaredIn.set(`${match[1]}*`, file);
      }
    }
  }
  return { series, declaredIn };
}

/** prom-client's default metrics as a registry with `prefix` exposes them. */
export function defaultMetricSeries(prefix: string): string[] {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix });
  const names: string[] = [];
  for (const metric of registry.getMetricsAsArray()) {
    const kind = String(metric.type); // 'histogram', 'summary', … at run time (the typings say enum)
    const type = kind === 'histogram' ? 'Histogram' : kind === 'summary' ? 'Summary' : 'Gauge';
    names.push(...seriesOf(type, metric.name));
  }
  return names;
}

const PROMQL_KEYWORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset',
  'inf', 'nan', 'atan2',
]);

/**
 * Metric names an expression selects: identifiers that are not functions, keywords, label names or
 * strings. `$variables` and `[ranges]` (Grafana's too) are removed first.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\$\{?\w+\}?/g, ' '); // dashboard variables
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = match[0];
    const after = stripped.slice(match.index + name.length).trimStart();
    if (after.startsWith('(')) continue; // a function
    if (PROMQL_KEYWORDS.has(name.toLowerCase())) continue;
    if (/^[0-9]/.test(name)) continue;
    names.add(name);
  }
  return [...names];
}

/**
 * The `stage` label values a service's code records metrics under (`observeBatch('composite', …)`,
 * `stageQueueDepth.inc({ stage: 'inpaint' })`): its pipeline steps, which need not be its name.
 */
export function recordedStages(service: string): string[] {
  const stages = new Set<string>();
  for (const file of sourceFiles(join(REPO_ROOT, 'services', service, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/observeBatch\(\s*['"`]([a-z_]+)['"`]/g)) stages.add(m[1]);
    for (const m of text.matchAll(/stage(?:QueueDepth|Frames|Errors|BatchSize|BatchDuration)\.(?:inc|dec|set|observe)\(\s*\{\s*stage:\s*['"`]([a-z_]+)['"`]/g)) stages.add(m[1]);
  }
  return [...stages].sort();
}

