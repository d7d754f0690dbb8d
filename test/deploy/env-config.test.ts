/**
 * Every VANELIA_* variable the chart gives a pod must be one its service reads (its own sources or the
 * shared packages), so a renamed setting fails here instead of being silently ignored in a cluster.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deploymentsOf, renderChart, REPO_ROOT, SERVICES, VALUE_SETS, type Service } from './chart';

function sourceText(dir: string): string {
  let text = '';
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) text += entry === 'gen' || entry === 'node_modules' ? '' : sourceText(path);
    else if (/\.(ts|mts|mjs|js)$/.test(entry) && !/\.(test|spec)\./.test(entry)) text += readFileSync(path, 'utf8');
  }
  return text;
}

/** VANELIA_* names that appear in a service's code or in the shared packages' code. */
function namesReadBy(service: Service): Set<string> {
  const packages = readdirSync(join(REPO_ROOT, 'packages')).map((p) => join(REPO_ROOT, 'packages', p, 'src'));
  const text = [join(REPO_ROOT, 'services', service, 'src'), ...packages].map(sourceText).join('\n');
  return new Set(text.match(/\bVANELIA_[A-Z0-9_]+\b/g) ?? []);
}

const rendered = Object.keys(VALUE_SETS).map((set) => renderChart({ values: VALUE_SETS[set] }));

describe('environment the chart sets', () => {
  it.each(SERVICES)('is read by %s', (service) => {
    const known = namesReadBy(service);
    expect(known.has('VANELIA_PORT'), 'the scan must see the runtime config').toBe(true);
    const unread = new Set<string>();
    for (const objects of rendered) {
      for (const d of deploymentsOf(objects, service)) {
        for (const { name } of d.spec.template.spec.containers[0].env ?? []) {
          if (name.startsWith('VANELIA_') && !known.has(name)) unread.add(name);
        }
      }
    }
    expect([...unread].sort()).toEqual([]);
  });
});
