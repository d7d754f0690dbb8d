/**
 * Compositor on the GPU machine: the same code as bench/compositor-cpu.ts (CompositorJob: render with
 * three.js WebGPURenderer on Dawn, read back, then assemble, composite and inpaint mask in the frame pool's
 * worker threads), with Dawn's Vulkan backend on the NVIDIA driver; ms per 1080p frame as throughput
 * (steady-state wall time per frame, median over windows of 10), 100 frames after warm-up; goal <= 20 ms.
 * Frame and batch latencies are reported beside it.
 *
 *   node .device/bench/compositor.mjs --backend vulkan --frames 100 [--runs rgb8:auto,i420:auto,rgb8:0]   (GPU machine, packed)
 *   npx tsx bench/gpu/compositor.ts --backend opengles --frames 8 --width 1280 --height 720           (small check on CPU)
 *
 * --runs is a list of format:workers (workers auto = the service default, cores - 1; 0 = the single-thread
 * path; i420 = the service path with its I420 conversions). The product is generated here (no shared data
 * on the GPU machine): a 102k-triangle torus knot with 2048px base colour, metal-roughness and normal maps;
 * pass --product PATH for a real file. The workers load frame-worker.mjs beside this bundle (pack it too).
 * Results: $OUT/compositor-gpu.json when OUT is set, else bench/results/compositor-gpu.json; a table last.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '@vanelia/runtime';
import type { GpuBackend } from '../../services/compositor/src/gpu-renderer';
import { FRAME_BENCH_ARGS, frameBenchOptions, printFrameBenchTable, runFrameBench, type FrameBenchResult } from '../compositor-frames';

const { values: a } = parseArgs({
  options: {
    ...FRAME_BENCH_ARGS,
    backend: { type: 'string', default: 'vulkan' },
    product: { type: 'string', default: 'generated' },
    width: { type: 'string', default: '1920' },
    height: { type: 'string', default: '1080' },
    runs: { type: 'string' },
    out: { type: 'string' },
  },
});

const out = a.out ?? (process.env.OUT ? join(process.env.OUT, 'compositor-gpu.json') : join(REPO_ROOT, 'bench', 'results', 'compositor-gpu.json'));
const runs = (a.runs ?? `${a.format}:${a.workers}`).split(',').map((run) => {
  const [format, workers] = run.split(':');
  return { ...frameBenchOptions({ ...a, format, workers: workers ?? a.workers }) };
});
const results: FrameBenchResult[] = [];
for (const run of runs) {
  results.push(await runFrameBench({ ...run, backend: a.backend as GpuBackend, product: a.product!, widthPx: Number(a.width), heightPx: Number(a.height) }));
  console.log(`done: ${run.format}, workers ${run.workers < 0 ? 'auto' : run.workers}`);
}
const report = {
  benchmark: 'compositor ms per frame on the GPU machine (render + read-back + assemble + composite + inpaint mask), throughput',
  goalMs: 20,
  date: new Date().toISOString(),
  notes:
    'msPerFrame is throughput: steady-state wall time per frame (windows of consecutive completions, median over windows). ' +
    'frameLatencyMs is one frame from GPU recording to composite ready; batchLatencyMs one batch from call to answer (two batches in flight, as the server keeps).',
  results,
};
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
printFrameBenchTable(results);
console.log(`written ${out}`);
process.exit(0);
