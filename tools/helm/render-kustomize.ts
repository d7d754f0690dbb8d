/**
 * Generates the kustomize tree under k8s/ from the Helm chart, so both describe one deployment:
 *   k8s/base                     everything but the pose/inpaint pools and monitoring
 *   k8s/components/cpu-pools     pose and inpaint on CPU nodes (rendered with helm/values/cpu-only.yaml)
 *   k8s/components/gpu-pools     pose and inpaint on A100 80 GB nodes (the chart's default pools)
 *   k8s/components/monitoring    ServiceMonitor, PrometheusRule, Grafana dashboard ConfigMap
 * The overlays (k8s/overlays/{cpu-only,gpu}) are written by hand and only combine these.
 *
 *   npx tsx tools/helm/render-kustomize.ts          rewrite the generated files
 *   npx tsx tools/helm/render-kustomize.ts --check  exit 1 when they differ from the chart
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { deployTools, REPO_ROOT } from './deploy-tools';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

const HEADER = '# Generated from helm/vanelia by tools/helm/render-kustomize.ts: edit the chart, then rerun it.\n';
const MONITORING_KINDS = new Set(['ServiceMonitor', 'PrometheusRule']);
const POOL_KINDS = new Set(['Deployment', 'HorizontalPodAutoscaler']);
const POOL_STAGES = new Set(['pose', 'inpaint']);
/** Helm bookkeeping that means nothing outside Helm. */
const HELM_LABELS = ['helm.sh/chart', 'app.kubernetes.io/managed-by'];

function render(valuesFiles: string[]): K8sObject[] {
  const args = ['template', 'vanelia', join(REPO_ROOT, 'helm', 'vanelia'), '--namespace', 'vanelia', '--set', 'services.gateway.auth.create=false'];
  for (const file of valuesFiles) args.push('--values', join(REPO_ROOT, file));
  const result = spawnSync(deployTools().helm, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`render-kustomize: helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null)
    .map(stripHelm);
}

function stripHelm(object: K8sObject): K8sObject {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if (record.labels && typeof record.labels === 'object') {
        for (const label of HELM_LABELS) delete (record.labels as Record<string, string>)[label];
      }
      Object.values(record).forEach(visit);
    }
  };
  visit(object);
  return object;
}

const isPool = (o: K8sObject) => POOL_KINDS.has(o.kind) && POOL_STAGES.has(o.metadata.labels?.['app.kubernetes.io/component'] ?? '');
const isMonitoring = (o: K8sObject) => MONITORING_KINDS.has(o.kind) || o.metadata.name === 'vanelia-dashboard';

function manifests(objects: K8sObject[]): string {
  return HEADER + objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('');
}

function kustomization(kind: 'Kustomization' | 'Component', file: string): string {
  const apiVersion = kind === 'Component' ? 'kustomize.config.k8s.io/v1alpha1' : 'kustomize.config.k8s.io/v1beta1';
  return `${HEADER}apiVersion: ${apiVersion}\nkind: ${kind}\nresources:\n  - ${file}\n`;
}

/** Relative path -> content of every generated file. */
export function kustomizeFiles(): Map<string, string> {
  const gpu = render([]);
  const cpu = render(['helm/values/cpu-only.yaml']);
  const files = new Map<string, string>();
  const add = (dir: string, kind: 'Kustomization' | 'Component', objects: K8sObject[]) => {
    if (objects.length === 0) throw new Error(`render-kustomize: nothing rendered for ${dir}`);
    files.set(`${dir}/vanelia.yaml`, manifests(objects));
    files.set(`${dir}/kustomization.yaml`, kustomization(kind, 'vanelia.yaml'));
  };
  add('k8s/base', 'Kustomization', gpu.filter((o) => !isPool(o) && !isMonitoring(o)));
  add('k8s/components/cpu-pools', 'Component', cpu.filter(isPool));
  add('k8s/components/gpu-pools', 'Component', gpu.filter(isPool));
  add('k8s/components/monitoring', 'Component', gpu.filter(isMonitoring));
  return files;
}

/** Paths whose content differs from what the chart renders now (empty when up to date). */
export function staleKustomizeFiles(files = kustomizeFiles()): string[] {
  return [...files].filter(([path, content]) => {
    const full = join(REPO_ROOT, path);
    return !existsSync(full) || readFileSync(full, 'utf8') !== content;
  }).map(([path]) => path);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = kustomizeFiles();
  if (process.argv.includes('--check')) {
    const stale = staleKustomizeFiles(files);
    if (stale.length > 0) {
      process.stderr.write(`out of date with the chart: ${stale.join(', ')}\nrun: npx tsx tools/helm/render-kustomize.ts\n`);
      process.exit(1);
    }
  } else {
    for (const [path, content] of files) {
      mkdirSync(dirname(join(REPO_ROOT, path)), { recursive: true });
      writeFileSync(join(REPO_ROOT, path), content);
      process.stdout.write(`wrote ${path}\n`);
    }
  }
}
