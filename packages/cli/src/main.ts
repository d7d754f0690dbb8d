import { JobState, type GatewayClient, type JobSpec } from '@vanelia/proto';
import { REPO_ROOT, isVaneliaError } from '@vanelia/runtime';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { cancelJob, downloadPreview, downloadResult, gatewayClient, getJob, listJobs, submitJob, watchJob } from './gateway-calls';
import { startLocalMesh, type LocalMesh } from './local-mesh';
import { ProgressBar } from './progress-bar';

/** Sample inputs shipped in the repo (made here: see tools/make-samples.ts). */
export const SAMPLE_VIDEO = join(REPO_ROOT, 'samples', 'demo-scene.mp4');
export const SAMPLE_PRODUCT = join(REPO_ROOT, 'samples', 'demo-product.glb');

const USAGE = `vanelia — put a 3D product into a video

usage:
  vanelia run [--input video.mp4 --model product.glb --output final.mp4] [options]
      runs the whole mesh locally (separate processes on loopback) or on --gateway HOST:PORT;
      with no input, the bundled sample video and product (same as \`vanelia demo\`)
  vanelia demo [--output out.mp4]
  vanelia submit --input video.mp4 [--model product.glb] [options] --gateway HOST:PORT [--watch]
      uploads and prints the job id (--video-uri/--product-uri name files on the gateway's storage instead)
  vanelia watch JOB --gateway HOST:PORT          progress until the job ends (exit 0 when it succeeded)
  vanelia get JOB --gateway HOST:PORT [--output final.mp4] [--preview preview.png]
  vanelia cancel JOB --gateway HOST:PORT
  vanelia list --gateway HOST:PORT [--state queued|running|succeeded|failed|cancelled] [--limit N]
  vanelia track --input <video | folder of frames> --output cameras.json [--backend auto|dust3r|tracker]
                [--model-dir DIR] [--frame N] [--pixel X,Y] [--product-height M] [--camera-height M] [--focal PX]
      estimates every frame's camera and writes a NeRF-style transforms.json
  vanelia render --model product.glb --cameras cameras.json --output DIR [--frames DIR] [--anchor X,Y,Z ...]
      renders the product at every camera of a transforms.json (RGBA layers; composites when frames are given)
  vanelia models check DIR [--load] [--provider cpu,webgpu,...] [--json]
      checks an inpaint (refinement) model folder

job options:
  --product-height M     real height of the product in metres (default: the file's size)
  --camera-height M      camera height above the floor/table in metres: the scene's scale (default 1.4)
  --anchor X,Y[,FRAME]   pixel (and frame) where the product stands (default: centre of frame 0)
  --yaw DEG              product rotation about the up axis
  --pose-backend NAME    auto | dust3r | tracker | none
  --prompt TEXT          refinement prompt;  --no-refine  skips diffusion refinement
  --preset NAME          subtle | balanced | strong
  --idempotency-key KEY  submitting the same key twice returns the first job

gateway access (submit, watch, get, cancel, list, run --gateway):
  --token TOKEN          bearer token (default: $VANELIA_TOKEN)
  --tls-ca FILE          CA of the gateway's certificate (TLS);  --tls-cert FILE --tls-key FILE  client certificate (mTLS)
`;

const JOB_OPTIONS = {
  input: { type: 'string', short: 'i' },
  model: { type: 'string', short: 'm' },
  output: { type: 'string', short: 'o' },
  gateway: { type: 'string', short: 'g' },
  'product-height': { type: 'string' },
  'camera-height': { type: 'string' },
  anchor: { type: 'string' },
  yaw: { type: 'string' },
  'pose-backend': { type: 'string' },
  prompt: { type: 'string' },
  preset: { type: 'string' },
  'no-refine': { type: 'boolean' },
  'idempotency-key': { type: 'string' },
  preview: { type: 'string' },
  'video-uri': { type: 'string' },
  'product-uri': { type: 'string' },
  watch: { type: 'boolean' },
  token: { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  state: { type: 'string' },
  limit: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

type JobArgs = { [K in keyof typeof JOB_OPTIONS]?: (typeof JOB_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

function usageError(message: string): never {
  throw Object.assign(new Error(`${message}\n\n${USAGE}`), { usage: true });
}

function number(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value)) usageError(`--${flag} must be a number, got ${JSON.stringify(text)}`);
  return value;
}

/** The job spec a set of flags describes. */
export function specFromArgs(args: JobArgs): JobSpec {
  let placement = { frameIndex: 0, hasPixel: false, pixelX: 0, pixelY: 0, productHeightM: number('product-height', args['product-height'], 0), productYawDeg: number('yaw', args.yaw, 0), cameraHeightM: number('camera-height', args['camera-height'], 0) };
  if (args.anchor) {
    const parts = args.anchor.split(',').map(Number);
    if (parts.length < 2 || parts.length > 3 || parts.some((p) => !Number.isFinite(p) || p < 0)) usageError(`--anchor takes X,Y[,FRAME] in pixels, got ${JSON.stringify(args.anchor)}`);
    placement = { ...placement, hasPixel: true, pixelX: parts[0], pixelY: parts[1], frameIndex: Math.round(parts[2] ?? 0) };
  }
  return {
    videoUri: '',
    productUri: '',
    videoSizeBytes: 0,
    productSizeBytes: 0,
    placement,
    refine: { enabled: !args['no-refine'], prompt: args.prompt ?? 'a product photographed in the scene, natural lighting, realistic shadows', negativePrompt: '', preset: args.preset ?? '', steps: 0, strength: 0, guidanceScale: 0, seed: 0, mode: '', frameInterval: 0 },
    poseBackend: args['pose-backend'] ?? 'auto',
    idempotencyKey: args['idempotency-key'] ?? '',
    labels: {},
  };
}

async function runJob(args: JobArgs): Promise<void> {
  const input = resolve(args.input ?? SAMPLE_VIDEO);
  const model = args.model ? resolve(args.model) : args.input ? '' : SAMPLE_PRODUCT;
  const output = resolve(args.output ?? (args.input ? input.replace(/(\.[^./]+)?$/, '.vanelia.mp4') : join(process.cwd(), 'vanelia-demo.mp4')));
  for (const file of [input, model].filter(Boolean)) if (!existsSync(file)) usageError(`${file} does not exist`);
  let mesh: LocalMesh | undefined;
  let address = args.gateway;
  if (!address) {
    process.stderr.write('starting the mesh locally (decoder, pose, compositor, inpaint, gateway)...\n');
    mesh = await startLocalMesh({ storageRoot: join(process.cwd(), '.vanelia', 'storage'), env: { VANELIA_LOG_LEVEL: 'warn' } });
    address = mesh.gatewayAddress;
  }
  try {
    const client = clientFor(args, address);
    const job = await submitJob(client, specFromArgs(args), { videoPath: input, productPath: model || undefined });
    process.stderr.write(`job ${job.id}\n`);
    const bar = new ProgressBar();
    const last = await watchJob(client, job.id, (event) => bar.update(event));
    bar.done();
    for (const warning of last.warnings) process.stderr.write(`note: ${warning}\n`);
    if (last.state !== JobState.JOB_STATE_SUCCEEDED) {
      throw new Error(last.error?.message ?? `job ended ${JobState[last.state]}`);
    }
    await mkdir(dirname(output), { recursive: true });
    const bytes = await downloadResult(client, job.id, output);
    process.stdout.write(`${output} (${(bytes / 1e6).toFixed(1)} MB)\n`);
    client.close();
  } finally {
    await mesh?.stop();
  }
}

function needGateway(args: JobArgs): string {
  if (!args.gateway) usageError('this command needs --gateway HOST:PORT');
  return args.gateway;
}

/** A gateway client with the access flags (token, TLS). */
function clientFor(args: JobArgs, address = needGateway(args)): GatewayClient {
  if ((args['tls-cert'] || args['tls-key']) && !args['tls-ca']) usageError('--tls-cert and --tls-key need --tls-ca');
  const tls = args['tls-ca'] ? { caFile: resolve(args['tls-ca']), certFile: args['tls-cert'] && resolve(args['tls-cert']), keyFile: args['tls-key'] && resolve(args['tls-key']) } : undefined;
  return gatewayClient(address, { token: args.token, tls });
}

/** Watches a job with a progress bar (through a gateway restart); exit code 0 when it succeeded. */
async function watchWithBar(client: GatewayClient, id: string): Promise<number> {
  const bar = new ProgressBar();
  const last = await watchJob(client, id, (e) => bar.update(e), { reconnectMs: 120_000 });
  bar.done();
  for (const warning of last.warnings) process.stderr.write(`note: ${warning}\n`);
  if (last.error) process.stderr.write(`${last.error.message}\n`);
  return last.state === JobState.JOB_STATE_SUCCEEDED ? 0 : 1;
}

const STATE_NAMES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

/** Runs one CLI invocation; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command = 'run', ...rest] = argv;
  // Stage tools have their own flags; they are loaded only when asked for (the renderer pulls in three.js).
  if (command === 'render') {
    const { parseRenderArgs, renderCommand } = await import('../../../services/compositor/src/cli-render');
    const result = await renderCommand(parseRenderArgs(rest));
    for (const warning of result.warnings) process.stderr.write(`note: ${warning}\n`);
    process.stdout.write(`${result.frames} cameras rendered, ${result.composited} composites; manifest ${result.manifestPath}\n`);
    return 0;
  }
  if (command === 'track') {
    const { runTrackCommand } = await import('../../../services/pose/src/cli-track');
    process.stdout.write(`${await runTrackCommand(rest)}\n`);
    return 0;
  }
  if (command === 'models') {
    if (rest[0] !== 'check') usageError('models takes the sub-command check');
    const { modelsCheckCommand } = await import('../../../services/inpaint/src/cli-models-check');
    return modelsCheckCommand(rest.slice(1));
  }
  const { values, positionals } = parseArgs({ args: rest, options: JOB_OPTIONS, allowPositionals: true, strict: true });
  const args = values as JobArgs;
  if (args.help || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (command) {
    case 'run':
      await runJob(args);
      return 0;
    case 'demo':
      await runJob({ output: args.output, gateway: args.gateway });
      return 0;
    case 'submit': {
      if (!args.input && !args['video-uri']) usageError('submit needs --input (or --video-uri)');
      const client = clientFor(args);
      const spec = { ...specFromArgs(args), videoUri: args['video-uri'] ?? '', productUri: args['product-uri'] ?? '' };
      const files = { videoPath: args.input && resolve(args.input), productPath: args.model ? resolve(args.model) : undefined };
      const job = await submitJob(client, spec, files);
      process.stdout.write(`${job.id}\n`);
      return args.watch ? watchWithBar(client, job.id) : 0;
    }
    case 'watch':
      return watchWithBar(clientFor(args), positionals[0] ?? usageError('watch needs a job id'));
    case 'get': {
      const client = clientFor(args);
      const id = positionals[0] ?? usageError('get needs a job id');
      const job = await getJob(client, id);
      const time = (ms: number): string | undefined => (ms ? new Date(ms).toISOString() : undefined);
      const shown = {
        id: job.id, state: JobState[job.state], stage: job.stage, framesDone: job.framesDone, framesTotal: job.framesTotal,
        framesCheckpointed: job.framesCheckpointed, attempts: job.attempts, created: time(job.createdUnixMs), started: time(job.startedUnixMs),
        finished: time(job.finishedUnixMs), resultSizeBytes: job.resultSizeBytes, stages: job.stages, warnings: job.warnings, error: job.error,
      };
      process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      if (args.output) await downloadResult(client, id, resolve(args.output));
      if (args.preview) await downloadPreview(client, id, resolve(args.preview));
      return 0;
    }
    case 'cancel': {
      const job = await cancelJob(clientFor(args), positionals[0] ?? usageError('cancel needs a job id'));
      process.stdout.write(`${job.id} ${JobState[job.state]}\n`);
      return 0;
    }
    case 'list': {
      const client = clientFor(args);
      if (args.state && !STATE_NAMES.includes(args.state)) usageError(`--state is one of ${STATE_NAMES.join(', ')}`);
      const state = args.state ? STATE_NAMES.indexOf(args.state) + 1 : JobState.JOB_STATE_UNSPECIFIED;
      const limit = number('limit', args.limit, 50);
      let token = '';
      let shown = 0;
      do {
        const page = await listJobs(client, Math.min(100, limit - shown), token, state);
        for (const job of page.jobs) {
          const when = new Date(job.createdUnixMs).toISOString();
          process.stdout.write(`${job.id}  ${JobState[job.state].replace('JOB_STATE_', '').padEnd(9)}  ${job.stage.padEnd(9)}  ${job.framesDone}/${job.framesTotal}  ${when}\n`);
        }
        shown += page.jobs.length;
        token = page.nextPageToken;
      } while (token && shown < limit);
      return 0;
    }
    default:
      usageError(`unknown command ${JSON.stringify(command)}`);
  }
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (error) {
    const message = isVaneliaError(error) || (error as { usage?: boolean }).usage ? (error as Error).message : `vanelia: ${(error as Error).message}`;
    process.stderr.write(`${message}\n`);
    process.exitCode = (error as { usage?: boolean }).usage ? 2 : 1;
  }
}
