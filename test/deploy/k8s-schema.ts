/**
 * Validates rendered Kubernetes objects against the API schemas shipped in kubernetes-models (and
 * @kubernetes-models/prometheus-operator for ServiceMonitor and PrometheusRule). Those validators ignore
 * fields they do not know, so `unknownFields` also probes every key: a known key rejects a value of the
 * wrong type, an unknown one (a typo such as `nodeselector`) is accepted silently and reported here.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface ValidationError {
  instancePath: string;
  message?: string;
}
type Validator = ((data: unknown) => void) & { name?: string };

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

const CRD_PACKAGES: Record<string, string> = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

/** The kubernetes-models class of an apiVersion/kind, or a thrown error naming what is missing. */
function modelClass(apiVersion: string, kind: string): new (data: unknown) => { validate(): void } {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const base = CRD_PACKAGES[group] ?? 'kubernetes-models';
  const path = group === '' ? `${base}/${version}/${kind}` : `${base}/${group}/${version}/${kind}`;
  let module: Record<string, unknown>;
  try {
    module = require(path) as Record<string, unknown>;
  } catch {
    throw new Error(`no schema for ${apiVersion} ${kind} (looked for ${path})`);
  }
  const ctor = module[kind];
  if (typeof ctor !== 'function') throw new Error(`${path} does not export ${kind}`);
  return ctor as new (data: unknown) => { validate(): void };
}

function schemaErrors(validate: Validator, data: unknown): ValidationError[] {
  try {
    validate(data);
    return [];
  } catch (error) {
    const errors = (error as { errors?: ValidationError[] }).errors;
    return errors ?? [{ instancePath: '', message: (error as Error).message }];
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Paths of keys the schema does not know (found by probing each key with values of the wrong type). */
function unknownFields(validate: Validator, root: Record<string, unknown>): string[] {
  const unknown: string[] = [];
  const visit = (node: unknown, path: string): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => visit(item, `${path}/${i}`));
      return;
    }
    if (!isPlainObject(node)) return;
    for (const key of Object.keys(node)) {
      const original = node[key];
      const keyPath = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      const rejects = (probe: unknown): boolean => {
        node[key] = probe;
        const errors = schemaErrors(validate, root);
        node[key] = original;
        return errors.some((e) => e.instancePath === keyPath || e.instancePath.startsWith(`${keyPath}/`));
      };
      if (rejects(true) || rejects('probe')) visit(original, keyPath);
      else unknown.push(keyPath);
    }
  };
  for (const key of Object.keys(root)) if (key !== 'apiVersion' && key !== 'kind') visit(root[key], `/${key}`);
  // Reported as JSON pointers: `~1` is `/` inside a key.
  return unknown;
}

/** Every schema problem of one object, as `Kind/name: /path message` lines (empty when valid). */
export function validateObject(object: K8sObject): string[] {
  const where = `${object.kind}/${object.metadata?.name ?? '?'}`;
  let Model: new (data: unknown) => { validate(): void };
  try {
    Model = modelClass(object.apiVersion, object.kind);
  } catch (error) {
    return [`${where}: ${(error as Error).message}`];
  }
  const validate: Validator = (data) => new Model(structuredClone(data)).validate();
  const copy = structuredClone(object) as Record<string, unknown>;
  const problems = schemaErrors(validate, copy).map((e) => `${where}: ${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
  if (problems.length > 0) return problems;
  return unknownFields(validate, copy).map((path) => `${where}: ${path} is not a field of ${object.apiVersion} ${object.kind}`);
}
