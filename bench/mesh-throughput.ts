// Decode -> mesh -> encode throughput against the same work in one process, for 1080p input.
// Usage: npx tsx bench/mesh-throughput.ts [--frames 120] [--runs 3]
import { JobState, PixelFormat } from '@vanelia/proto';
import { gatewayClient, specFromArgs, startLocalMesh, submitJob, watchJob } from '@vanelia/cli';
import { FrameEncoder, decodeFrames, probeVideo } from '@vanelia/decoder';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeTestVideo } from '../test/helpers/video';

const { values } = parseArgs({ options: { frames: { type: 'string', default: '120' }, runs: { type: 'string', default: '3' } } });
const frames = Number(values.frames);
const runs = Number(values.runs);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = await mkdtemp(join(tmpdir(), 'vanelia-bench-'));
const storage = join(dir, 'storage');
await mkdir(storage, { recursive: true });
const input = join(storage, 'input-1080p.mp4');
await makeTestVideo(input, { widthPx: 1920, heightPx: 1080, fps: '30', frames, audio: true });

/** The same decode -> encode work in one process: the ceiling the mesh is measured against. */
async function inProcess(): Promise<number> {
  const started = performance.now();
  const info = await probeVideo(input);
  // The mesh moves frames as I420; so does this baseline.
  const format = PixelFormat.PIXEL_FORMAT_I420;
  const encoder = await FrameEncoder.open(join(dir, 'in-process.mp4'), info, info.audioCodec, { audioSourcePath: input, frameFormat: format });
  for await (const batch of decodeFrames(input, info, { batchSize: 8, format })) await encoder.write(batch);
  const result = await encoder.finish();
  if (result.frameCount !== frames) throw new Error(`in-process encoded ${result.frameCount} frames`);
  return frames / ((performance.now() - started) / 1000);
}

const mesh = await startLocalMesh({ storageRoot: storage, env: { VANELIA_LOG_LEVEL: 'warn' } });
const client = gatewayClient(mesh.gatewayAddress);
/** The job through five processes (probe, decode, compositor pass-through, encode), by storage path. */
async function throughMesh(): Promise<number> {
  const started = performance.now();
  const job = await submitJob(client, { ...specFromArgs({ 'no-refine': true }), poseBackend: 'none', videoUri: 'input-1080p.mp4' });
  const last = await watchJob(client, job.id, () => undefined);
  if (last.state !== JobState.JOB_STATE_SUCCEEDED) throw new Error(`mesh job ended ${JobState[last.state]}: ${last.error?.message}`);
  return frames / ((performance.now() - started) / 1000);
}

const meshFps: number[] = [];
const localFps: number[] = [];
try {
  await throughMesh(); // warm-up: first-call connection set-up and JIT
  for (let i = 0; i < runs; i++) {
    localFps.push(await inProcess());
    meshFps.push(await throughMesh());
  }
} finally {
  client.close();
  await mesh.stop();
  await rm(dir, { recursive: true, force: true });
}
const result = {
  benchmark: 'decode -> mesh -> encode vs in-process, 1080p H.264 (x264 medium, crf 17), audio passed through',
  machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
  date: new Date().toISOString(),
  frames,
  runs,
  inProcessFramesPerS: { median: median(localFps), all: localFps },
  meshFramesPerS: { median: median(meshFps), all: meshFps },
  meshToInProcessRatio: median(meshFps) / median(localFps),
};
await writeFile(new URL('./results/mesh-throughput.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
console.log(`in-process ${result.inProcessFramesPerS.median.toFixed(2)} f/s | mesh ${result.meshFramesPerS.median.toFixed(2)} f/s | ratio ${(result.meshToInProcessRatio * 100).toFixed(1)}%`);
