import { createLogger, VaneliaError, type Logger } from '@vanelia/runtime';
import { ANCHOR_DEFAULTS } from './anchor';
import { createDust3rBackend } from './dust3r/dust3r-backend';
import { resolveBackend } from './backend';
import { trackVideo } from './track-video';

export interface TrackCommandArgs {
  input: string;
  output: string;
  backend: 'auto' | 'dust3r' | 'tracker';
  modelDir: string;
  frameIndex: number;
  pixel?: [number, number];
  productHeightM: number;
  cameraHeightM: number;
  focalPx: number;
}

export const TRACK_USAGE = `vanelia track --input <video | folder of frames> --output cameras.json [options]

  --backend auto|dust3r|tracker   camera estimator (default auto: DUSt3R when its model is in --model-dir)
  --model-dir DIR                 folder with dust3r_encoder.onnx and dust3r_decoder.onnx ($VANELIA_POSE_MODEL_DIR)
  --frame N                       frame of the placement anchor (default 0)
  --pixel X,Y                     pixel of the placement anchor (default the frame's centre)
  --product-height M              product height in metres (gives the anchor a metric scale)
  --camera-height M               assumed camera height above the supporting plane (default 1.4; ~0.4 on a table)
  --focal PX                      known focal length in pixels (tracker; default estimated)

Writes a NeRF-style transforms.json: camera-to-world in OpenGL axes, fl_x fl_y cx cy w h, one frame per
input frame in order, plus the placement anchor under "vanelia".`;

function usage(sentence: string): VaneliaError {
  return new VaneliaError('cli', 'INVALID_ARGUMENT', `${sentence}; see \`vanelia track --help\`.`);
}

/** Parses `vanelia track` arguments (after the subcommand). */
export function parseTrackArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): TrackCommandArgs {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw usage(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const key = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw usage(`--${key} needs a value`);
    values.set(key, value);
  }
  const known = new Set(['input', 'output', 'backend', 'model-dir', 'frame', 'pixel', 'product-height', 'camera-height', 'focal']);
  for (const key of values.keys()) if (!known.has(key)) throw usage(`unknown option --${key}`);
  const input = values.get('input');
  const output = values.get('output');
  if (!input) throw usage('--input is required');
  if (!output) throw usage('--output is required');
  const backend = values.get('backend') ?? 'auto';
  if (backend !== 'auto' && backend !== 'dust3r' && backend !== 'tracker') throw usage(`--backend must be auto, dust3r or tracker, not "${backend}"`);
  const number = (key: string, fallback: number, min: number): number => {
    const raw = values.get(key);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw usage(`--${key} must be a number ≥ ${min}, not "${raw}"`);
    return n;
  };
  let pixel: [number, number] | undefined;
  const rawPixel = values.get('pixel');
  if (rawPixel !== undefined) {
    const parts = rawPixel.split(',').map(Number);
    if (parts.length !== 2 || parts.some((p) => !Number.isFinite(p) || p < 0)) throw usage(`--pixel must be X,Y, not "${rawPixel}"`);
    pixel = [parts[0], parts[1]];
  }
  const frameIndex = number('frame', 0, 0);
  if (!Number.isInteger(frameIndex)) throw usage('--frame must be a whole number');
  return {
    input,
    output,
    backend,
    modelDir: values.get('model-dir') ?? env.VANELIA_POSE_MODEL_DIR ?? '',
    frameIndex,
    ...(pixel ? { pixel } : {}),
    productHeightM: number('product-height', 0, 0),
    cameraHeightM: number('camera-height', ANCHOR_DEFAULTS.cameraHeightM, 0.01),
    focalPx: number('focal', 0, 0),
  };
}

/** Runs `vanelia track`; returns a one-line summary for the terminal. */
export async function runTrackCommand(argv: readonly string[], logger: Logger = createLogger({ service: 'cli', level: 'warn' })): Promise<string> {
  if (argv.includes('--help') || argv.includes('-h')) return TRACK_USAGE;
  const args = parseTrackArgs(argv);
  const backend = resolveBackend(args.backend, args.modelDir);
  const dust3r = backend === 'dust3r' ? createDust3rBackend({ modelDir: args.modelDir, logger }) : undefined;
  try {
    const t0 = performance.now();
    const track = await trackVideo(args.input, {
      outputPath: args.output,
      backend,
      modelDir: args.modelDir,
      dust3r,
      placement: { frameIndex: args.frameIndex, ...(args.pixel ? { pixel: args.pixel } : {}), productHeightM: args.productHeightM },
      anchor: { cameraHeightM: args.cameraHeightM },
      tracker: { focalPx: args.focalPx },
      logger,
    });
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    const warn = track.warnings.length > 0 ? ` (${track.warnings.length} warning${track.warnings.length > 1 ? 's' : ''}: ${track.warnings.join('; ')})` : '';
    return `wrote ${args.output}: ${track.cameras.length} cameras by ${track.backend} in ${seconds} s${warn}`;
  } finally {
    await dust3r?.close();
  }
}
