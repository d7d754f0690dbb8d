import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './chart';
import { exportedMetrics, metricNamesIn } from './metric-names';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { refId: string; expr: string }[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
}

const DASHBOARD_FILE = join(REPO_ROOT, 'deploy', 'grafana', 'vanelia.json');
const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');

describe('Grafana dashboard deploy/grafana/vanelia.json', () => {
  it('has panels with queries, unique ids and no overlapping tiles', () => {
    expect(panels.length).toBeGreaterThan(10);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
    for (const p of panels) expect(p.targets?.length, p.title).toBeGreaterThan(0);
  });

  it('queries only metrics the code exports', () => {
    const exported = exportedMetrics();
    // The scan must see the runtime's metrics, or the check below would pass on nothing.
    expect(exported.series.has('vanelia_stage_frames_total')).toBe(true);
    const unknown: string[] = [];
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const names = metricNamesIn(target.expr);
        expect(names.length, `${panel.title} ${target.refId} names no metric`).toBeGreaterThan(0);
        for (const name of names) if (!exported.series.has(name)) unknown.push(`${panel.title} (${target.refId}): ${name}`);
      }
    }
    for (const variable of dashboard.templating.list) {
      const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
      if (variable.type !== 'query' || !query) continue;
      const inner = /label_values\((.*),\s*\w+\)$/.exec(query)?.[1] ?? query;
      for (const name of metricNamesIn(inner)) if (!exported.series.has(name)) unknown.push(`variable ${variable.name}: ${name}`);
    }
    expect(unknown).toEqual([]);
  });

  it('is told apart from a dashboard naming a metric nobody exports', () => {
    const exported = exportedMetrics().series;
    const names = metricNamesIn('sum by (stage) (rate(vanelia_stage_frams_total{cluster=~"$cluster"}[$__rate_interval]))');
    expect(names).toEqual(['vanelia_stage_frams_total']);
    expect(exported.has(names[0])).toBe(false);
  });
});
