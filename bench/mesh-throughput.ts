// Decode -> mesh -> encode throughput against the same work in one process, for 1080p input: the mesh
// with frames through shared memory (the local default) and with frames inline in the gRPC messages
// (as between pods), measured side by side in turns.
// Usage: npx tsx bench/mesh-throughput.ts [--frames 180] [--runs 3] [--width 1920 --height 1080] [--out results/mesh-throughput.json]
import { JobState, PixelFormat } from '@vanelia/proto';
import { SERVICE_PROCESS_ENV, gatewayClient, specFromArgs, startLocalMesh, submitJob, watchJob } from '@vanelia/cli';
import { spawnSync } from 'node:child_process';
import { FrameEncoder, decodeFrames, probeVideo } from '@vanelia/decoder';
import { link, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeTestVideo } from '../test/helpers/video';

// The in-process baseline runs with the services' allocator settings (SERVICE_PROCESS_ENV), like the mesh.
if (Object.entries(SERVICE_PROCESS_ENV).some(([k, v]) => process.env[k] !== v)) {
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, ...SERVICE_PROCESS_ENV } });
  process.exit(child.status ?? 1);
}
const loadAtStart = loadavg()[0];

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '180' },
    runs: { type: 'string', default: '3' },
    width: { type: 'string', default: '1920' },
    height: { type: 'string', default: '1080' },
    out: { type: 'string', default: 'results/mesh-throughput.json' },
  },
});
const frames = Number(values.frames);
const runs = Number(values.runs);
const [widthPx, heightPx] = [Number(values.width), Number(values.height)];
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = await mkdtemp(join(tmpdir(), 'vanelia-bench-'));
const storage = join(dir, 'storage');
await mkdir(storage, { recursive: true });
const input = join(storage, 'input.mp4');
await makeTestVideo(input, { widthPx, heightPx, fps: '30', frames, audio: true });

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

const meshEnv = { VANELIA_LOG_LEVEL: 'warn' };
const meshes = {
  memory: await startLocalMesh({ storageRoot: storage, env: meshEnv, frameMemory: true }),
  inline: await startLocalMesh({ storageRoot: storage, env: meshEnv, frameMemory: false }),
};
const clients = { memory: gatewayClient(meshes.memory.gatewayAddress), inline: gatewayClient(meshes.inline.gatewayAddress) };

/** `vanelia_frame_bytes_total` by transport, summed over a mesh's services. */
async function frameBytesOf(mesh: typeof meshes.memory): Promise<{ memory: number; inline: number }> {
  const total = { memory: 0, inline: 0 };
  for (const service of Object.values(mesh.services)) {
    const text = await (await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`)).text();
    for (const m of text.matchAll(/^vanelia_frame_bytes_total\{transport="(memory|inline)"\} (\S+)$/gm)) total[m[1] as 'memory' | 'inline'] += Number(m[2]);
  }
  return total;
}

let submitted = 0;
/** The job through five processes (probe, decode, compositor pass-through, encode), by storage path. */
async function throughMesh(kind: keyof typeof meshes): Promise<number> {
  const client = clients[kind];
  // Each job names its own file (a hard link): the gateway remembers probes by file, and a user's next job is
  // a different video, so no run may reuse an earlier run's probe.
  const name = `input-${kind}-${++submitted}.mp4`;
  await link(input, join(storage, name));
  const started = performance.now();
  const job = await submitJob(client, { ...specFromArgs({ 'no-refine': true }), poseBackend: 'none', videoUri: name });
  const last = await watchJob(client, job.id, () => undefined);
  if (last.state !== JobState.JOB_STATE_SUCCEEDED) throw new Error(`mesh job ended ${JobState[last.state]}: ${last.error?.message}`);
  return frames / ((performance.now() - started) / 1000);
}

const fps = { inProcess: [] as number[], memory: [] as number[], inline: [] as number[] };
const load: number[] = [];
let bytes: Record<keyof typeof meshes, { memory: number; inline: number }>;
try {
  // Warm-up: first-call connection set-up and JIT.
  await throughMesh('memory');
  await throughMesh('inline');
  for (let i = 0; i < runs; i++) {
    load.push(loadavg()[0]);
    fps.inProcess.push(await inProcess());
    fps.memory.push(await throughMesh('memory'));
    fps.inline.push(await throughMesh('inline'));
  }
  bytes = { memory: await frameBytesOf(meshes.memory), inline: await frameBytesOf(meshes.inline) };
} finally {
  for (const client of Object.values(clients)) client.close();
  await Promise.all(Object.values(meshes).map((m) => m.stop()));
  await rm(dir, { recursive: true, force: true });
}
const stats = (xs: number[]) => ({ median: median(xs), all: xs });
const result = {
  benchmark: `decode -> mesh -> encode vs in-process, ${widthPx}x${heightPx} H.264 (x264 medium, crf 17), audio passed through`,
  machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
  date: new Date().toISOString(),
  frames,
  runs,
  // Other work on the machine: the 1-minute load average before the bench, then before each run (which
  // includes the bench's own previous run).
  loadAverage1mAtStart: loadAtStart,
  loadAverage1mBeforeEachRun: load,
  allocatorEnv: SERVICE_PROCESS_ENV,
  inProcessFramesPerS: stats(fps.inProcess),
  meshMemoryFramesPerS: stats(fps.memory),
  meshInlineFramesPerS: stats(fps.inline),
  meshMemoryToInProcessRatio: median(fps.memory) / median(fps.inProcess),
  meshInlineToInProcessRatio: median(fps.inline) / median(fps.inProcess),
  // Each run's mesh rate over the in-process rate measured just before it (less swayed by other work).
  meshMemoryToInProcessRatioPerRun: fps.memory.map((f, i) => f / fps.inProcess[i]),
  meshInlineToInProcessRatioPerRun: fps.inline.map((f, i) => f / fps.inProcess[i]),
  // Frame bytes the services sent, by transport (every run and the warm-up): proof of the path taken.
  frameBytesSent: bytes,
};
await writeFile(new URL(values.out!, import.meta.url), JSON.stringify(result, null, 2) + '\n');
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
console.log(
  `in-process ${median(fps.inProcess).toFixed(2)} f/s | mesh, shared memory ${median(fps.memory).toFixed(2)} f/s (${pct(result.meshMemoryToInProcessRatio)}) | mesh, inline ${median(fps.inline).toFixed(2)} f/s (${pct(result.meshInlineToInProcessRatio)})`,
);
