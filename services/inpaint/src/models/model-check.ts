/**
 * `vanelia models check DIR`: validates a model folder without running it — manifest, files, external weight
 * files, opsets, input/output names, dtypes and shapes of every role, one float precision throughout, and the
 * tokenizer — and, with `load`, creates each session to prove onnxruntime accepts it.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkTensors, createSession, readModelHeader, type ModelHeader, type ProviderConfig, type TensorInfo } from '@vanelia/onnx';
import { loadClipTokenizer } from '../tokenizer/tokenizer-files';
import { OPSET_RANGE, roleContract, rolesOf } from './model-contract';
import { readManifest, resolveInFolder, type ModelManifest, type ModelRole } from './model-manifest';

export interface ModelCheckOptions {
  /** Also load every model into an onnxruntime session (slow for full-size models; default false). */
  load?: boolean;
  /** Providers used when loading (default ['cpu']). */
  providers?: readonly ProviderConfig[];
}

export interface CheckedModel {
  role: ModelRole;
  file: string;
  sizeBytes: number;
  opset: number;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

export interface ModelCheckReport {
  dir: string;
  ok: boolean;
  /** From the manifest, when it could be read. */
  precision?: 'fp16' | 'fp32';
  manifest?: ModelManifest;
  models: CheckedModel[];
  /** One sentence each; empty when the folder is usable. */
  problems: string[];
}

const PRECISION_DTYPE = { fp16: 'float16', fp32: 'float32' } as const;

function floatDtypes(values: readonly TensorInfo[]): string[] {
  return values.map((v) => v.dtype ?? '').filter((d) => d === 'float16' || d === 'float32');
}

function checkHeader(m: ModelManifest, role: ModelRole, file: string, header: ModelHeader): string[] {
  const problems: string[] = [];
  const label = `${role} (${file})`;
  const opset = header.opsets[''] ?? 0;
  if (opset < OPSET_RANGE.min || opset > OPSET_RANGE.max) {
    problems.push(`${label} uses opset ${opset}, expected ${OPSET_RANGE.min} to ${OPSET_RANGE.max} (export with opset 17)`);
  }
  for (const data of header.externalDataFiles) {
    if (!existsSync(join(dirname(file), data))) problems.push(`${label} keeps its weights in ${data}, which is missing beside it`);
  }
  const contract = roleContract(m, role);
  problems.push(...checkTensors(label, 'input', header.inputs, contract.inputs));
  problems.push(...checkTensors(label, 'output', header.outputs, contract.outputs));
  const want = PRECISION_DTYPE[m.precision];
  const floats = [...floatDtypes(header.inputs.filter((i) => i.name !== 'timestep' && i.name !== 'conditioning_scale')), ...floatDtypes(header.outputs)];
  const wrong = [...new Set(floats.filter((d) => d !== want))];
  if (wrong.length > 0) problems.push(`${label} has ${wrong.join(', ')} tensors but the manifest says ${m.precision}`);
  return problems;
}

/** Checks the folder; never throws for a bad folder (the problems say what is wrong). */
export async function checkModelFolder(dir: string, options: ModelCheckOptions = {}): Promise<ModelCheckReport> {
  const report: ModelCheckReport = { dir, ok: false, models: [], problems: [] };
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    report.problems.push(`${dir} is not a folder`);
    return report;
  }
  const read = readManifest(dir);
  if (!read.manifest) {
    report.problems.push(...read.problems);
    return report;
  }
  const m = read.manifest;
  report.manifest = m;
  report.precision = m.precision;
  for (const role of rolesOf(m)) {
    const file = resolveInFolder(dir, m.models[role]!);
    if (!existsSync(file)) {
      report.problems.push(`${role} model ${file} is missing`);
      continue;
    }
    let header: ModelHeader;
    try {
      header = readModelHeader(file);
    } catch (error) {
      report.problems.push(`${role} model ${file} is not an ONNX model (${(error as Error).message})`);
      continue;
    }
    report.models.push({ role, file, sizeBytes: statSync(file).size, opset: header.opsets[''] ?? 0, inputs: header.inputs, outputs: header.outputs });
    report.problems.push(...checkHeader(m, role, file, header));
    if (options.load) {
      try {
        const session = await createSession('inpaint', file, { providers: options.providers ?? ['cpu'], label: `${role} model` });
        await session.release();
      } catch (error) {
        report.problems.push((error as Error).message.replace(/^inpaint: /, '').replace(/\.$/, ''));
      }
    }
  }
  try {
    const tokenizer = loadClipTokenizer(resolveInFolder(dir, m.tokenizer));
    if (tokenizer.contextLength !== m.textLength) report.problems.push(`the tokenizer frames ${tokenizer.contextLength} tokens, the text encoder takes ${m.textLength}`);
  } catch (error) {
    report.problems.push((error as Error).message.replace(/^inpaint: /, '').replace(/\.$/, ''));
  }
  report.ok = report.problems.length === 0;
  return report;
}

/** Human-readable lines of a report (what the CLI prints). */
export function formatModelCheck(report: ModelCheckReport): string[] {
  const lines = [`${report.dir}: ${report.ok ? 'ok' : `${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}`}`];
  if (report.precision) lines.push(`  precision ${report.precision}${report.manifest?.controlnetFused ? ', ControlNet fused into the UNet' : ''}`);
  for (const model of report.models) {
    lines.push(`  ${model.role.padEnd(12)} ${model.file}  opset ${model.opset}  ${(model.sizeBytes / 2 ** 20).toFixed(1)} MiB`);
  }
  for (const p of report.problems) lines.push(`  problem: ${p}`);
  return lines;
}
