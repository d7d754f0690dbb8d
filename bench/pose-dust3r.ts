/**
 * DUSt3R benchmark through Vanelia's own code (contract check, session, encoder cache, pair batches,
 * global alignment): decoder pairs/s at each exported batch, the encoder's frames/s, the whole track of N
 * frames (frames → cameras), and the global alignment alone on exact synthetic pointmaps at 512x288.
 *
 *   node --import tsx bench/pose-dust3r.ts --model-root DIR [--provider webgpu|cpu] [--frames 100]
 *        [--align-frames 100] [--batches 1,4,8] [--decoder-runs 10] [--out FILE] [--parts align,pairs,track]
 *
 * DIR holds b<B>/dust3r_{encoder,decoder}.onnx per batch B (bench/gpu/pose_dust3r_twin.py writes it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseProviderList } from '@vanelia/onnx';
import { rgbFrame } from '@vanelia/runtime';
import { createDust3rBackend } from '../services/pose/src/dust3r/dust3r-backend';
import { loadDust3rModels } from '../services/pose/src/dust3r/dust3r-models';
import { alignGlobally } from '../services/pose/src/dust3r/global-alignment';
import { decodeBatch, encodeImages } from '../services/pose/src/dust3r/pair-inference';
import { observePair, sampleGrid, type PairObservation } from '../services/pose/src/dust3r/pair-observations';
import { makePairs } from '../services/pose/src/dust3r/scene-graph';
import { syntheticPredictions, syntheticScene } from '../services/pose/src/dust3r/synthetic-scene';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const modelRoot = arg('model-root', '');
const providers = parseProviderList(arg('provider', 'cpu'));
const frameCount = Number(arg('frames', '100'));
const alignFrames = Number(arg('align-frames', String(frameCount)));
const batches = arg('batches', '1,4,8').split(',').map(Number);
const decoderRuns = Number(arg('decoder-runs', '10'));
const out = arg('out', 'bench/results/pose-dust3r.json');
const sceneGraph = arg('scene-graph', 'swin-4-noncyclic');
const parts = new Set(arg('parts', 'align,pairs,track').split(','));
const results: Record<string, unknown> = { providers, frames: frameCount, sceneGraph, node: process.version, when: new Date().toISOString() };

/** A 1080p frame with smooth colour ramps and texture, different per index. */
function videoFrame(index: number, widthPx = 1920, heightPx = 1080) {
  const data = new Uint8Array(widthPx * heightPx * 3);
  for (let y = 0; y < heightPx; y++) {
    for (let x = 0; x < widthPx; x++) {
      const i = 3 * (y * widthPx + x);
      const u = x + 4 * index;
      data[i] = (u * 0.13 + 40 * Math.sin(y * 0.01)) & 255;
      data[i + 1] = (y * 0.2 + 30 * Math.cos(u * 0.02)) & 255;
      data[i + 2] = ((u ^ y) * 0.5) & 255;
    }
  }
  return rgbFrame(index, widthPx, heightPx, data);
}

async function pairThroughput(): Promise<void> {
  const rows: unknown[] = [];
  for (const batch of batches) {
    const models = await loadDust3rModels(join(modelRoot, `b${batch}`), providers);
    const shape = { heightPx: models.shapes.heightPx ?? 288, widthPx: models.shapes.widthPx ?? 512 };
    const plane = 3 * shape.heightPx * shape.widthPx;
    const images = [0, 1].map((k) => Float32Array.from({ length: plane }, (_, i) => Math.sin(i * 0.001 + k)));
    const encStart = performance.now();
    const features = await encodeImages(models, images, shape, models.shapes.encoderBatch ?? 1);
    const encodeMs = performance.now() - encStart;
    const pairs = Array.from({ length: batch }, (_, i) => (i % 2 ? { first: 1, second: 0 } : { first: 0, second: 1 }));
    const pairBatch = { pairs, first: shape, second: shape };
    await decodeBatch(models, pairBatch, features); // warm-up (shader compilation, allocations)
    const times: number[] = [];
    for (let r = 0; r < decoderRuns; r++) {
      const t0 = performance.now();
      await decodeBatch(models, pairBatch, features);
      times.push(performance.now() - t0);
    }
    const encTimes: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      await encodeImages(models, images.slice(0, 1), shape, 1);
      encTimes.push(performance.now() - t0);
    }
    await models.release();
    const row = {
      batch,
      decoderMsMedian: median(times),
      pairsPerSecond: (1000 * batch) / median(times),
      encoderMsPerFrameMedian: median(encTimes),
      firstEncodeMs: encodeMs,
      runs: decoderRuns,
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  results.pairThroughput = rows;
}

async function wholeTrack(): Promise<void> {
  const batch = Math.max(...batches);
  const frames = Array.from({ length: frameCount }, (_, i) => videoFrame(i));
  const backend = createDust3rBackend({ modelDir: join(modelRoot, `b${batch}`), provider: providers, sceneGraph, pairBatchSize: batch });
  await backend.track(frames.slice(0, 2)); // warm-up: sessions, shaders
  const t0 = performance.now();
  const result = await backend.track(frames);
  const totalMs = performance.now() - t0;
  await backend.close();
  results.wholeTrack = { batch, frames: frameCount, pairs: result.pairCount, totalMs, stepsMs: result.timingsMs };
  console.log(JSON.stringify(results.wholeTrack));
}

function alignmentOnly(): void {
  const shape = { heightPx: 288, widthPx: 512 };
  const scene = syntheticScene({ frames: alignFrames, shape, focalPx: 420 });
  const grids = scene.cameras.map(() => sampleGrid(shape, 512));
  const observations: PairObservation[] = [];
  for (const pair of makePairs(sceneGraph, alignFrames)) {
    observations.push(observePair(syntheticPredictions(scene, [pair], { noise: 0.005, seed: observations.length + 1 })[0], grids));
  }
  const times: number[] = [];
  const cpu: number[] = [];
  let last;
  for (let r = 0; r < 3; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    last = alignGlobally(grids, observations);
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  results.alignmentOnly = {
    frames: alignFrames,
    pairs: observations.length,
    samplesPerFrame: grids[0].pixelIndex.length,
    msMedianOf3: median(times),
    runsMs: times,
    cpuMsMedianOf3: median(cpu),
    iterations: last!.iterations,
    initialLoss: last!.initialLoss,
    finalLoss: last!.finalLoss,
  };
  console.log(JSON.stringify(results.alignmentOnly));
}

async function main(): Promise<void> {
  if (!modelRoot && (parts.has('pairs') || parts.has('track'))) throw new Error('--model-root is required for the pairs and track parts');
  if (parts.has('align')) alignmentOnly();
  if (parts.has('pairs')) await pairThroughput();
  if (parts.has('track')) await wholeTrack();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(results, null, 2));
  console.log(`wrote ${out}`);
  // Short table last (the device tool returns the output's tail).
  const rows = (results.pairThroughput as Array<{ batch: number; pairsPerSecond: number; decoderMsMedian: number; encoderMsPerFrameMedian: number }> | undefined) ?? [];
  for (const r of rows) console.log(`batch ${r.batch}: ${r.pairsPerSecond.toFixed(1)} pairs/s (decoder ${r.decoderMsMedian.toFixed(0)} ms, encoder ${r.encoderMsPerFrameMedian.toFixed(0)} ms/frame)`);
  const track = results.wholeTrack as { frames: number; pairs: number; totalMs: number; stepsMs: Record<string, number> } | undefined;
  if (track) console.log(`track ${track.frames} frames / ${track.pairs} pairs: ${(track.totalMs / 1000).toFixed(2)} s (features ${(track.stepsMs.features / 1000).toFixed(2)}, pairs ${(track.stepsMs.pairs / 1000).toFixed(2)}, alignment ${(track.stepsMs.alignment / 1000).toFixed(2)})`);
  const align = results.alignmentOnly as { frames: number; msMedianOf3: number; cpuMsMedianOf3: number } | undefined;
  if (align) console.log(`alignment alone, ${align.frames} frames: ${(align.msMedianOf3 / 1000).toFixed(2)} s wall, ${(align.cpuMsMedianOf3 / 1000).toFixed(2)} s CPU (median of 3)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
