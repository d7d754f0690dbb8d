/** Shared helpers of the deployment tests: run helm/kubectl, render the chart, pick objects. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { deployTools, REPO_ROOT, type DeployTools } from '../../tools/helm/deploy-tools';
import type { K8sObject } from './k8s-schema';

export { REPO_ROOT };
export const CHART_DIR = join(REPO_ROOT, 'helm', 'vanelia');
export const VALUES_DIR = join(REPO_ROOT, 'helm', 'values');
export const SERVICES = ['decoder', 'pose', 'compositor', 'inpaint', 'gateway'] as const;
export type Service = (typeof SERVICES)[number];

/** The values sets the tests render: name -> values files layered on the chart's defaults. */
export const VALUE_SETS: Record<string, string[]> = {
  default: [],
  'cpu-only': [join(VALUES_DIR, 'cpu-only.yaml')],
  'multi-gpu-pools': [join(VALUES_DIR, 'multi-gpu-pools.yaml')],
  'eu-west-1-eks': [join(VALUES_DIR, 'clusters', 'eu-west-1-eks.yaml')],
  'us-central1-gke': [join(VALUES_DIR, 'clusters', 'us-central1-gke.yaml')],
  'ap-southeast-onprem': [join(VALUES_DIR, 'clusters', 'ap-southeast-onprem.yaml')],
};

let tools: DeployTools | undefined;
export function getTools(): DeployTools {
  tools ??= deployTools();
  return tools;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], cwd = REPO_ROOT): RunResult {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function helm(args: string[]): RunResult {
  return run(getTools().helm, args);
}

export interface RenderOptions {
  values?: string[];
  set?: Record<string, string>;
  namespace?: string;
  release?: string;
}

/** `helm template` arguments for one rendering. */
export function templateArgs(options: RenderOptions = {}): string[] {
  const args = ['template', options.release ?? 'vanelia', CHART_DIR, '--namespace', options.namespace ?? 'vanelia'];
  for (const file of options.values ?? []) args.push('--values', file);
  for (const [key, value] of Object.entries(options.set ?? {})) args.push('--set', `${key}=${value}`);
  return args;
}

export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0].message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null);
}

/** Renders the chart; throws helm's message when it refuses. */
export function renderChart(options: RenderOptions = {}): K8sObject[] {
  const result = helm(templateArgs(options));
  if (result.status !== 0) throw new Error(`helm template failed: ${result.stderr.trim()}`);
  return parseObjects(result.stdout);
}

/** helm's error output for a rendering expected to fail (throws if it succeeds). */
export function renderError(options: RenderOptions): string {
  const result = helm(templateArgs(options));
  if (result.status === 0) throw new Error('helm template succeeded but was expected to fail');
  return result.stderr;
}

export function ofKind<T = K8sObject>(objects: K8sObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

export function named<T = K8sObject>(objects: K8sObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found as T;
}

/** Deployments of one service (one per pool). */
export function deploymentsOf(objects: K8sObject[], service: Service): Deployment[] {
  return ofKind<Deployment>(objects, 'Deployment').filter(
    (d) => d.metadata.labels?.['app.kubernetes.io/component'] === service,
  );
}

// The shapes the tests read (the full types live in kubernetes-models; these keep the tests terse).
export interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { name: string; containerPort: number }[];
  resources?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
  securityContext?: Record<string, unknown>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  volumeMounts?: { name: string; mountPath: string }[];
}
export interface Probe {
  grpc?: { port: number; service?: string };
  periodSeconds?: number;
  failureThreshold?: number;
}
export interface PodSpec {
  containers: Container[];
  nodeSelector?: Record<string, string>;
  tolerations?: { key?: string; operator?: string; value?: string; effect?: string }[];
  securityContext?: Record<string, unknown>;
  terminationGracePeriodSeconds?: number;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
}
export interface Deployment extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

export function envOf(container: Container): Record<string, string | undefined> {
  return Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
}

/** True when every label of `selector` is on `labels`. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}
