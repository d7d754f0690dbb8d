/**
 * GPU benchmark of the inpaint pipeline (our code: services/inpaint) through onnxruntime-node, on a synthetic
 * 1080p video with a moving product: frames/s in ROI mode at several batch sizes and in whole-frame mode,
 * time per model role, and optionally an onnxruntime per-op profile of one batch.
 *
 *   node --import tsx bench/gpu/inpaint.ts --models tmp/twins --provider webgpu --frames 100 --modes roi --batches 4,8,1
 *   node --import tsx bench/gpu/inpaint.ts --models tmp/twins --modes whole_frame --profile --profile-batch 4
 *   node --import tsx bench/gpu/inpaint.ts --tiny --provider cpu --frames 4 --width 320 --height 180 --roi 128 --batches 1,2
 *
 * Results: $OUT/inpaint.json when OUT is set, else bench/results/inpaint-<provider>[-tiny].json; a table last.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createSession, parseProviderList, type OnnxSession, type ProviderConfig } from '@vanelia/onnx';
import { REPO_ROOT } from '@vanelia/runtime';
import { sharedDataDir } from '@vanelia/runtime/test-data';
import { ModelSet, type SessionFactory } from '../../services/inpaint/src/models/model-set';
import { writeTinyModelFolder } from '../../services/inpaint/src/models/tiny-models';
import { resolveRefineSettings, type RefineMode } from '../../services/inpaint/src/presets';
import { RefineJob, type CompositeFrame } from '../../services/inpaint/src/refine-job';

const { values: a } = parseArgs({
  options: {
    models: { type: 'string' },
    tiny: { type: 'boolean' },
    provider: { type: 'string', default: 'webgpu' },
    'webgpu-options': { type: 'string', default: '{}' },
    frames: { type: 'string', default: '100' },
    width: { type: 'string', default: '1920' },
    height: { type: 'string', default: '1080' },
    roi: { type: 'string', default: '512' },
    batches: { type: 'string', default: '1,4,8' },
    'whole-frame-batches': { type: 'string', default: '1' },
    modes: { type: 'string', default: 'roi,whole_frame' },
    steps: { type: 'string', default: '12' },
    strength: { type: 'string', default: '0.3' },
    'max-seconds': { type: 'string', default: '150' },
    profile: { type: 'boolean' },
    'profile-batch': { type: 'string' },
    out: { type: 'string' },
  },
});

const frames = Number(a.frames);
const W = Number(a.width);
const H = Number(a.height);
const providerNames = parseProviderList(a.provider!);
const webgpuOptions = JSON.parse(a['webgpu-options']!) as Record<string, unknown>;
const providers: ProviderConfig[] = providerNames.map((p) => (p === 'webgpu' ? ({ name: 'webgpu', ...webgpuOptions } as ProviderConfig) : p));
const modelDir = a.models ?? (a.tiny ? tinyModels() : undefined);
if (!modelDir) throw new Error('give --models DIR (e.g. from bench/gpu/inpaint_twins.py) or --tiny');
const outFile = a.out ?? (process.env.OUT ? join(process.env.OUT, 'inpaint.json') : join(REPO_ROOT, 'bench', 'results', `inpaint-${providerNames[0]}${a.tiny ? '-tiny' : ''}.json`));

function tinyModels(): string {
  const dir = mkdtempSync(join(tmpdir(), 'inpaint-bench-'));
  writeTinyModelFolder(dir, { tokenizerDir: join(sharedDataDir(), 'clip-bpe') });
  return dir;
}

/** A textured background with a product box moving across it; mask = the box, dilated. */
function frameAt(index: number): CompositeFrame {
  const composite = new Uint8Array(W * H * 3);
  const mask = new Uint8Array(W * H);
  const bw = Math.round(W * 0.15);
  const bh = Math.round(H * 0.3);
  const region = { x: Math.round((W - bw) * (0.2 + 0.6 * ((index % 100) / 100))), y: Math.round(H * 0.45), w: bw, h: bh };
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      composite[i] = (x + index) & 255;
      composite[i + 1] = (y * 2) & 255;
      composite[i + 2] = ((x ^ y) + 64) & 255;
    }
  }
  for (let y = region.y; y < region.y + region.h; y++) {
    for (let x = region.x; x < region.x + region.w; x++) {
      mask[y * W + x] = 255;
      composite[(y * W + x) * 3] = 200;
    }
  }
  return { index, widthPx: W, heightPx: H, ptsUs: index * 33_333, composite, mask, region };
}

interface RoleTimes {
  [role: string]: { ms: number; runs: number };
}

function timingFactory(times: RoleTimes, sessions: OnnxSession[], profilePrefix?: string): SessionFactory {
  return async (role, file, options) => {
    const session = await createSession('inpaint', file, {
      ...options,
      label: `${role} model`,
      logSeverityLevel: 3,
      ...(profilePrefix ? { enableProfiling: true, profileFilePrefix: `${profilePrefix}-${role}` } : {}),
    });
    sessions.push(session);
    return {
      inputs: session.inputs,
      outputs: session.outputs,
      provider: session.provider,
      release: () => session.release(),
      run: async (feeds, names) => {
        const started = performance.now();
        try {
          return await session.run(feeds, names);
        } finally {
          const t = (times[role] ??= { ms: 0, runs: 0 });
          t.ms += performance.now() - started;
          t.runs++;
        }
      },
    };
  };
}

interface Row {
  mode: RefineMode;
  batch: number;
  frames: number;
  seconds?: number;
  framesPerSecond?: number;
  warmupSeconds?: number;
  roleSeconds?: Record<string, number>;
  otherSeconds?: number;
  stepsRun?: number;
  provider?: string;
  note?: string;
  error?: string;
}

async function measure(mode: RefineMode, batch: number): Promise<Row> {
  const times: RoleTimes = {};
  const sessions: OnnxSession[] = [];
  const models = await ModelSet.open(modelDir!, { providers, sessionFactory: timingFactory(times, sessions) });
  const settings = resolveRefineSettings({
    prompt: 'a product on a table', negativePrompt: '', preset: '', steps: Number(a.steps), strength: Number(a.strength),
    guidanceScale: 0, seed: 1, mode, roiSizePx: Number(a.roi), frameInterval: 1, batchSize: batch,
  });
  const job = new RefineJob('bench', settings, true, { models });
  const row: Row = { mode, batch, frames: 0 };
  try {
    const warm = performance.now();
    await job.refineBatch(Array.from({ length: batch }, (_, i) => frameAt(i)));
    row.warmupSeconds = (performance.now() - warm) / 1000;
    for (const k of Object.keys(times)) delete times[k];
    let done = 0;
    let elapsedMs = 0; // refinement only: making the synthetic frames is not counted
    while (done < frames) {
      const count = Math.min(batch, frames - done);
      const input = Array.from({ length: count }, (_, i) => frameAt(batch + done + i));
      const started = performance.now();
      const result = await job.refineBatch(input);
      elapsedMs += performance.now() - started;
      row.stepsRun = result.report.stepsRun;
      done += count;
      if (elapsedMs / 1000 > Number(a['max-seconds']) && done < frames) {
        row.note = `stopped after ${done} frames (--max-seconds)`;
        break;
      }
    }
    row.frames = done;
    row.seconds = elapsedMs / 1000;
    row.framesPerSecond = done / row.seconds;
    row.roleSeconds = Object.fromEntries(Object.entries(times).map(([role, t]) => [role, t.ms / 1000]));
    row.otherSeconds = row.seconds - Object.values(row.roleSeconds).reduce((s, v) => s + v, 0);
    row.provider = models.provider;
  } catch (error) {
    row.error = (error as Error).message.slice(0, 500);
  } finally {
    await models.release();
  }
  return row;
}

interface OpRow {
  op: string;
  ms: number;
  count: number;
  share: number;
}

/** Per-op totals of onnxruntime profiles (Chrome-trace JSON), by op type. */
function summarizeProfiles(dir: string, prefix: string): Record<string, OpRow[]> {
  const out: Record<string, OpRow[]> = {};
  for (const file of readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.json'))) {
    const role = file.slice(prefix.length + 1).replace(/_\d{4}-.*$/, '');
    const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { cat?: string; dur?: number; args?: { op_name?: string } }[];
    const byOp = new Map<string, { us: number; count: number }>();
    for (const e of events) {
      if (e.cat !== 'Node' || !e.args?.op_name || typeof e.dur !== 'number') continue;
      const entry = byOp.get(e.args.op_name) ?? { us: 0, count: 0 };
      entry.us += e.dur;
      entry.count++;
      byOp.set(e.args.op_name, entry);
    }
    const total = [...byOp.values()].reduce((s, v) => s + v.us, 0) || 1;
    out[role] = [...byOp.entries()]
      .map(([op, v]) => ({ op, ms: v.us / 1000, count: v.count, share: v.us / total }))
      .sort((x, y) => y.ms - x.ms)
      .slice(0, 15);
  }
  return out;
}

async function profileOnce(batch: number): Promise<Record<string, OpRow[]>> {
  const dir = process.env.OUT ?? mkdtempSync(join(tmpdir(), 'inpaint-profile-'));
  const prefix = 'ort-profile';
  const sessions: OnnxSession[] = [];
  const models = await ModelSet.open(modelDir!, { providers, sessionFactory: timingFactory({}, sessions, join(dir, prefix)) });
  const settings = resolveRefineSettings({
    prompt: 'a product', negativePrompt: '', preset: '', steps: Number(a.steps), strength: Number(a.strength), guidanceScale: 0, seed: 1,
    mode: 'roi', roiSizePx: Number(a.roi), frameInterval: 1, batchSize: batch,
  });
  const job = new RefineJob('profile', settings, true, { models });
  await job.refineBatch(Array.from({ length: batch }, (_, i) => frameAt(i)));
  for (const s of sessions) s.endProfiling();
  await models.release();
  return summarizeProfiles(dir, prefix);
}

const rows: Row[] = [];
const modes = a.modes!.split(',') as RefineMode[];
for (const mode of modes) {
  const batches = (mode === 'whole_frame' ? a['whole-frame-batches']! : a.batches!).split(',').map(Number);
  for (const batch of batches) {
    const row = await measure(mode, batch);
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
const profile = a.profile ? await profileOnce(Number(a['profile-batch'] ?? a.batches!.split(',')[0])) : undefined;
const result = {
  benchmark: 'inpaint',
  date: new Date().toISOString(),
  models: modelDir,
  manifestSource: JSON.parse(readFileSync(join(modelDir, 'manifest.json'), 'utf8')).source,
  providers,
  video: { frames, widthPx: W, heightPx: H },
  roiSizePx: Number(a.roi),
  steps: Number(a.steps),
  strength: Number(a.strength),
  rows,
  profile,
};
mkdirSync(join(outFile, '..'), { recursive: true });
writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
if (profile) {
  for (const [role, ops] of Object.entries(profile)) {
    console.log(`profile ${role}: ` + ops.slice(0, 8).map((o) => `${o.op} ${o.ms.toFixed(1)} ms (${(o.share * 100).toFixed(0)}%)`).join(', '));
  }
}
console.log(`\nmode         batch  frames/s  seconds  warmup  per role (s)          -> ${outFile}`);
for (const r of rows) {
  const roles = r.roleSeconds ? Object.entries(r.roleSeconds).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(' ') : r.error ?? '';
  console.log(`${r.mode.padEnd(12)} ${String(r.batch).padStart(5)}  ${(r.framesPerSecond ?? 0).toFixed(2).padStart(8)}  ${(r.seconds ?? 0).toFixed(1).padStart(7)}  ${(r.warmupSeconds ?? 0).toFixed(1).padStart(6)}  ${roles}${r.note ? ` (${r.note})` : ''}`);
}
