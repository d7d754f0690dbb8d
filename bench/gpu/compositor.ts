/**
 * Compositor on the GPU machine: the same code as bench/compositor-cpu.ts (CompositorJob: render with
 * three.js WebGPURenderer on Dawn, read back, composite, inpaint mask), with Dawn's Vulkan backend on the
 * NVIDIA driver; ms per 1080p frame, 100 frames after warm-up, median; goal <= 20 ms.
 *
 *   node --import tsx bench/gpu/compositor.ts --backend vulkan --frames 100            (GPU machine)
 *   npx tsx bench/gpu/compositor.ts --backend opengles --frames 4 --width 640 --height 360   (small check on CPU)
 *
 * The product is generated here (no shared data on the GPU machine): a 102k-triangle torus knot with
 * 2048px base colour, metal-roughness and normal maps; pass --product PATH for a real file.
 * Results: $OUT/compositor-gpu.json when OUT is set, else bench/results/compositor-gpu.json; a table last.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '@vanelia/runtime';
import type { GpuBackend } from '../../services/compositor/src/gpu-renderer';
import { runFrameBench } from '../compositor-frames';

const { values: a } = parseArgs({
  options: {
    backend: { type: 'string', default: 'vulkan' },
    product: { type: 'string', default: 'generated' },
    frames: { type: 'string', default: '100' },
    warmup: { type: 'string', default: '5' },
    width: { type: 'string', default: '1920' },
    height: { type: 'string', default: '1080' },
    'batch-size': { type: 'string', default: '8' },
    'screen-fraction': { type: 'string', default: '0.45' },
    out: { type: 'string' },
  },
});

const out = a.out ?? (process.env.OUT ? join(process.env.OUT, 'compositor-gpu.json') : join(REPO_ROOT, 'bench', 'results', 'compositor-gpu.json'));
const result = await runFrameBench({
  backend: a.backend as GpuBackend,
  product: a.product!,
  frames: Number(a.frames),
  warmup: Number(a.warmup),
  widthPx: Number(a.width),
  heightPx: Number(a.height),
  screenFraction: Number(a['screen-fraction']),
  batchSize: Number(a['batch-size']),
});
const report = { benchmark: 'compositor ms per frame on the GPU machine (render + read-back + composite + inpaint mask)', goalMs: 20, date: new Date().toISOString(), result };
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
console.log('backend | adapter | frames | median ms | p10 | p90 | cpu ms | render wait | composite | drawn share | first frame');
console.log(
  [result.backend, result.adapter, result.frames, result.msPerFrame.median.toFixed(2), result.msPerFrame.p10.toFixed(2), result.msPerFrame.p90.toFixed(2), result.cpuMsPerFrame.toFixed(2), result.parts.renderWaitMs.toFixed(2), result.parts.compositeMs.toFixed(2), result.drawnShareOfFrame.toFixed(2), result.parts.firstFrameMs.toFixed(0)].join(' | '),
);
console.log(`written ${out}`);
process.exit(0);
