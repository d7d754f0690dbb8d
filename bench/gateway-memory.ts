// Gateway memory against video length: the same pass-through job on a short and a long video, the
// gateway's resident memory (and the stages') sampled every 50 ms. Bounded backpressure means the peak
// does not grow with the number of frames.
// Usage: npx tsx bench/gateway-memory.ts [--width 1920 --height 1080] [--frames 120,960] [--batch 8]
import { JobState } from '@vanelia/proto';
import { gatewayClient, specFromArgs, startLocalMesh, submitJob, watchJob } from '@vanelia/cli';
import { readFileSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeTestVideo } from '../test/helpers/video';

const { values } = parseArgs({
  options: {
    width: { type: 'string', default: '1920' },
    height: { type: 'string', default: '1080' },
    frames: { type: 'string', default: '120,960' },
    batch: { type: 'string', default: '8' },
    out: { type: 'string', default: new URL('./results/gateway-memory.json', import.meta.url).pathname },
  },
});
const [widthPx, heightPx] = [Number(values.width), Number(values.height)];
const lengths = values.frames!.split(',').map(Number);

const rssBytes = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

const dir = await mkdtemp(join(tmpdir(), 'vanelia-bench-mem-'));
const storage = join(dir, 'storage');
await mkdir(storage, { recursive: true });
for (const frames of lengths) await makeTestVideo(join(storage, `in-${frames}.mp4`), { widthPx, heightPx, fps: '30', frames, audio: true });

const mesh = await startLocalMesh({ storageRoot: storage, env: { VANELIA_LOG_LEVEL: 'warn' }, serviceEnv: { gateway: { VANELIA_BATCH_SIZE: values.batch! } } });
const client = gatewayClient(mesh.gatewayAddress);
const runs: Array<Record<string, number>> = [];
try {
  for (const frames of lengths) {
    const peaks = { gateway: 0, decoder: 0, compositor: 0 };
    const samples: number[] = [];
    const timer = setInterval(() => {
      for (const name of ['gateway', 'decoder', 'compositor'] as const) {
        const rss = rssBytes(mesh.services[name].process.pid!);
        peaks[name] = Math.max(peaks[name], rss);
        if (name === 'gateway') samples.push(rss);
      }
    }, 50);
    const started = performance.now();
    const job = await submitJob(client, { ...specFromArgs({ 'no-refine': true }), poseBackend: 'none', videoUri: `in-${frames}.mp4` });
    const last = await watchJob(client, job.id, () => undefined);
    clearInterval(timer);
    if (last.state !== JobState.JOB_STATE_SUCCEEDED) throw new Error(`job ended ${JobState[last.state]}: ${last.error?.message}`);
    const seconds = (performance.now() - started) / 1000;
    const sorted = [...samples].sort((a, b) => a - b);
    runs.push({
      frames,
      seconds: Math.round(seconds * 10) / 10,
      framesPerS: Math.round((frames / seconds) * 100) / 100,
      gatewayPeakMiB: mib(peaks.gateway),
      gatewayMedianMiB: mib(sorted[Math.floor(sorted.length / 2)] ?? 0),
      decoderPeakMiB: mib(peaks.decoder),
      compositorPeakMiB: mib(peaks.compositor),
    });
    console.log(JSON.stringify(runs.at(-1)));
  }
} finally {
  client.close();
  await mesh.stop();
  await rm(dir, { recursive: true, force: true });
}
const result = {
  benchmark: 'resident memory of the mesh during one pass-through job, short vs long video (sampled every 50 ms)',
  machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
  date: new Date().toISOString(),
  video: `${widthPx}x${heightPx} H.264, 30 fps, AAC audio`,
  batchFrames: Number(values.batch),
  batchBytes: widthPx * heightPx * 3 * Number(values.batch),
  runs,
  gatewayPeakGrowthMiB: runs.length > 1 ? Math.round((runs.at(-1)!.gatewayPeakMiB - runs[0].gatewayPeakMiB) * 10) / 10 : 0,
};
await writeFile(values.out!, JSON.stringify(result, null, 2) + '\n');
console.log(`gateway peak RSS: ${runs.map((r) => `${r.frames} frames ${r.gatewayPeakMiB} MiB`).join(' | ')}`);
