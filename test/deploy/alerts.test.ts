import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { named, renderChart, run, VALUE_SETS } from './chart';
import type { K8sObject } from './k8s-schema';
import { exportedMetrics, metricNamesIn, recordedStages } from './metric-names';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
}
type PrometheusRule = K8sObject & { spec: { groups: { name: string; rules: Rule[] }[] } };

/** The rendered PrometheusRule's groups as a Prometheus rule file in a fresh folder. */
function writeRuleFile(values: string[] = []): { dir: string; file: string; rules: Rule[] } {
  const rule = named<PrometheusRule>(renderChart({ values }), 'PrometheusRule', 'vanelia');
  const dir = mkdtempSync(join(tmpdir(), 'vanelia-rules-'));
  const file = join(dir, 'vanelia-rules.yaml');
  writeFileSync(file, stringify({ groups: rule.spec.groups }));
  return { dir, file, rules: rule.spec.groups.flatMap((g) => g.rules) };
}

describe('PrometheusRule', () => {
  it.each(Object.keys(VALUE_SETS))('passes promtool check rules with the %s values', (set) => {
    const { file } = writeRuleFile(VALUE_SETS[set]);
    const result = run('promtool', ['check', 'rules', file]);
    expect(result.stdout + result.stderr).toMatch(/SUCCESS: \d+ rules found/);
    expect(result.status).toBe(0);
  });

  it('alerts on stage down, queue growing, job failure rate and GPU saturation', () => {
    const { rules } = writeRuleFile();
    const alerts = new Set(rules.filter((r) => r.alert).map((r) => r.alert));
    expect([...alerts]).toEqual(
      expect.arrayContaining(['VaneliaStageDown', 'VaneliaQueueGrowing', 'VaneliaJobFailureRateHigh', 'VaneliaGpuStageSaturated']),
    );
    const down = rules.filter((r) => r.alert === 'VaneliaStageDown').map((r) => r.labels?.stage);
    expect(down.sort()).toEqual(['compositor', 'decoder', 'gateway', 'inpaint', 'pose']);
  });

  it('passes its promtool unit tests (test/deploy/alerts.rules-test.yaml)', () => {
    const { dir } = writeRuleFile();
    const testFile = join(dir, 'alerts.rules-test.yaml');
    copyFileSync(join(import.meta.dirname, 'alerts.rules-test.yaml'), testFile);
    const result = run('promtool', ['test', 'rules', testFile], dir);
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it('only reads series the code exports (or Prometheus itself, or its own recordings)', () => {
    const { rules } = writeRuleFile();
    const exported = exportedMetrics().series;
    const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));
    const unknown = rules.flatMap((r) =>
      metricNamesIn(r.expr)
        .filter((name) => !exported.has(name) && !recorded.has(name) && name !== 'up')
        .map((name) => `${r.alert ?? r.record}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('selects GPU stages by the stage labels the pose and inpaint services record', () => {
    const { rules } = writeRuleFile();
    const saturated = rules.find((r) => r.alert === 'VaneliaGpuStageSaturated')!;
    const selected = /stage=~"([^"]+)"/.exec(saturated.expr)![1].split('|').sort();
    expect(selected).toEqual([...recordedStages('pose'), ...recordedStages('inpaint')].sort());
  });
});

