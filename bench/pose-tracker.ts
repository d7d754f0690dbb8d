/**
 * The weight-free camera tracker on this CPU: speed for 100 frames of 1080p (goal ≤ 10 s, frames already
 * decoded to RGB, tracker work only: grayscale + reduction, KLT tracks, reconstruction, anchor) and
 * accuracy against ground truth after a Sim(3) alignment (targets: median rotation error < 1°,
 * trajectory RMSE < 2% of the trajectory's extent).
 *
 *   npx tsx bench/pose-tracker.ts [--runs 3] [--frames 100] [--skip-video]
 *
 * Scenes: the rendered synthetic walk at 1920x1080 (exact poses; frames cached in the temp folder after
 * the first render, which takes a few minutes), the LLFF fern photos at 1008x756 and 504x378 (COLMAP poses),
 * and a real handheld video (video-bedroom-sam2, 960x540, upscaled to 1080p by ffmpeg; speed only).
 * Times are medians of `runs` runs; the load average at start and end is recorded: other work on the
 * two cores shows up directly in the numbers. Writes bench/results/pose-tracker.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '@vanelia/runtime';
import { sharedDataDir } from '@vanelia/runtime/test-data';
import sharp from 'sharp';
import { computeAnchor } from '../services/pose/src/anchor';
import type { CameraTrackData } from '../services/pose/src/camera-track';
import type { Mat4 } from '../services/pose/src/geometry/mat4';
import { evaluateTrajectory } from '../services/pose/src/geometry/pose-error';
import { importLlffPosesBounds } from '../services/pose/src/io/llff';
import { TrackerSession, type RgbFrame } from '../services/pose/src/tracker/tracker-session';
import { renderSyntheticFrame, syntheticVideo } from '../services/pose/test/fixtures/synthetic-scene';

const { values: a } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    frames: { type: 'string', default: '100' },
    'skip-video': { type: 'boolean', default: false },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'pose-tracker.json') },
  },
});
const runs = Number(a.runs);
const frameCount = Number(a.frames);

interface SceneResult {
  scene: string;
  frames: number;
  size: string;
  medianSeconds: number;
  runsSeconds: number[];
  /** Medians of the two parts: frames pushed (grayscale, KLT) and finish (reconstruction, anchor). */
  trackingSeconds: number;
  reconstructionSeconds: number;
  cpuSeconds: number;
  focalPx: number;
  focalTruthPx?: number;
  medianRotationErrorDeg?: number;
  maxRotationErrorDeg?: number;
  rmse?: number;
  extent?: number;
  rmseRelative?: number;
  warnings: string[];
}

function median(values: number[]): number {
  const s = values.slice().sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Runs the tracker (and the anchor) `runs` times; accuracy from the last run. */
async function measure(scene: string, frames: RgbFrame[], truth?: { poses: Mat4[]; focalPx: number }): Promise<SceneResult> {
  const times: number[] = [];
  const tracking: number[] = [];
  let cpu = 0;
  let track: CameraTrackData | undefined;
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const session = new TrackerSession();
    for (const f of frames) session.push(f);
    tracking.push((performance.now() - t0) / 1000);
    track = await session.finish();
    try {
      track.anchor = computeAnchor(track);
    } catch (error) {
      track.warnings.push(`no placement anchor: ${(error as Error).message}`);
    }
    times.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu = (c.user + c.system) / 1e6; // last run's CPU time (all threads of the process)
    console.log(`  ${scene} run ${r + 1}: ${times[r].toFixed(2)} s`);
  }
  const result: SceneResult = {
    scene,
    frames: frames.length,
    size: `${frames[0].widthPx}x${frames[0].heightPx}`,
    medianSeconds: median(times),
    runsSeconds: times,
    trackingSeconds: median(tracking),
    reconstructionSeconds: median(times.map((t, i) => t - tracking[i])),
    cpuSeconds: cpu,
    focalPx: track!.cameras[0].intrinsics.fxPx,
    warnings: track!.warnings,
  };
  if (truth) {
    const err = evaluateTrajectory(track!.cameras.map((c) => c.cameraToWorldOpenCv), truth.poses);
    Object.assign(result, {
      focalTruthPx: truth.focalPx,
      medianRotationErrorDeg: err.medianRotationErrorDeg,
      maxRotationErrorDeg: err.maxRotationErrorDeg,
      rmse: err.rmse,
      extent: err.extent,
      rmseRelative: err.rmseRelative,
    });
  }
  return result;
}

function syntheticFrames(count: number, w: number, h: number): { frames: RgbFrame[]; poses: Mat4[]; focalPx: number } {
  const video = syntheticVideo(count, w, h);
  const cache = join(tmpdir(), `vanelia-bench-pose-synthetic-${count}-${w}x${h}.rgb`);
  let bytes: Buffer;
  if (existsSync(cache)) bytes = readFileSync(cache);
  else {
    console.log(`rendering ${count} synthetic frames at ${w}x${h} (cached in ${cache})…`);
    bytes = Buffer.concat(Array.from({ length: count }, (_, i) => renderSyntheticFrame(video, i)));
    writeFileSync(cache, bytes);
  }
  const size = w * h * 3;
  const frames = Array.from({ length: count }, (_, i): RgbFrame => ({ data: new Uint8Array(bytes.buffer, bytes.byteOffset + i * size, size), widthPx: w, heightPx: h, channels: 3 }));
  return { frames, poses: video.cameras.map((c) => c.cameraToWorldOpenCv), focalPx: video.focalPx };
}

async function fernFrames(folder: string): Promise<RgbFrame[]> {
  const dir = join(sharedDataDir(), 'images-fern-llff', folder);
  const frames: RgbFrame[] = [];
  for (let i = 0; i < 20; i++) {
    const { data, info } = await sharp(join(dir, `image${String(i).padStart(3, '0')}.png`)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    frames.push({ data: new Uint8Array(data.buffer, data.byteOffset, data.length), widthPx: info.width, heightPx: info.height, channels: 3 });
  }
  return frames;
}

/** The first `count` frames of a shared video, scaled to 1920x1080 by ffmpeg (lanczos), as RGB. */
function videoFrames(file: string, count: number): RgbFrame[] {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-frames:v', String(count), '-vf', 'scale=1920:1080:flags=lanczos', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 2 ** 31 });
  const size = 1920 * 1080 * 3;
  return Array.from({ length: Math.floor(raw.length / size) }, (_, i): RgbFrame => ({ data: new Uint8Array(raw.buffer, raw.byteOffset + i * size, size), widthPx: 1920, heightPx: 1080, channels: 3 }));
}

const loadStart = loadavg();
const results: SceneResult[] = [];
const synthetic = syntheticFrames(frameCount, 1920, 1080);
results.push(await measure(`synthetic walk, ${frameCount} frames 1080p`, synthetic.frames, synthetic));
for (const folder of ['images_4', 'images_8']) {
  const frames = await fernFrames(folder);
  const truth = importLlffPosesBounds(readFileSync(join(sharedDataDir(), 'images-fern-llff', 'poses_bounds.npy')), { widthPx: frames[0].widthPx, heightPx: frames[0].heightPx });
  results.push(await measure(`LLFF fern ${folder}`, frames, { poses: truth.cameras.map((c) => c.cameraToWorldOpenCv), focalPx: truth.cameras[0].intrinsics.fxPx }));
}
if (!a['skip-video']) {
  const frames = videoFrames(join(sharedDataDir(), 'video-bedroom-sam2', 'bedroom.mp4'), frameCount);
  results.push(await measure(`video-bedroom-sam2 upscaled, ${frames.length} frames 1080p`, frames));
}

const report = {
  benchmark: 'weight-free camera tracker on CPU: seconds from decoded RGB frames to cameras and anchor; accuracy after Sim(3) alignment',
  goals: { secondsFor100Frames1080p: 10, medianRotationErrorDeg: 1, rmseRelative: 0.02 },
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  loadAverageStart: loadStart,
  loadAverageEnd: loadavg(),
  runs,
  date: new Date().toISOString(),
  results,
};
mkdirSync(join(a.out!, '..'), { recursive: true });
writeFileSync(a.out!, JSON.stringify(report, null, 2) + '\n');
console.log('scene | size | median s (tracking + reconstruction) | cpu s | focal (truth) | median rot ° | max rot ° | RMSE / extent');
for (const r of results) {
  const f = r.focalTruthPx ? `${r.focalPx.toFixed(1)} (${r.focalTruthPx.toFixed(1)})` : r.focalPx.toFixed(1);
  const acc = r.medianRotationErrorDeg !== undefined ? `${r.medianRotationErrorDeg.toFixed(3)} | ${r.maxRotationErrorDeg!.toFixed(3)} | ${(100 * r.rmseRelative!).toFixed(2)}%` : '- | - | -';
  console.log(`${r.scene} | ${r.size} | ${r.medianSeconds.toFixed(2)} (${r.trackingSeconds.toFixed(2)} + ${r.reconstructionSeconds.toFixed(2)}) | ${r.cpuSeconds.toFixed(2)} | ${f} | ${acc}`);
}
