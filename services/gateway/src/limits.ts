import type { JobSpec, VideoInfo } from '@vanelia/proto';
import { VaneliaError } from '@vanelia/runtime';

/** What one job may ask for. Every limit is checked as early as possible, with a sentence naming it. */
export interface JobLimits {
  /** Largest video upload, bytes. */
  maxVideoBytes?: number;
  /** Largest product (GLB) upload, bytes. */
  maxProductBytes?: number;
  /** Most frames a video may have. */
  maxFrames?: number;
  /** Longest side of the video, pixels (after rotation: a portrait 1080x1920 has 1920). */
  maxSidePx?: number;
  /** Longest refinement prompt (and negative prompt), characters. */
  maxPromptChars?: number;
}

export const JOB_LIMITS_DEFAULTS: Required<JobLimits> = {
  maxVideoBytes: 4 * 1024 ** 3,
  maxProductBytes: 512 * 1024 ** 2,
  maxFrames: 36_000, // 20 minutes at 30 fps
  maxSidePx: 3840,
  maxPromptChars: 1000,
};

export const POSE_BACKENDS = ['', 'auto', 'dust3r', 'tracker', 'none'] as const;
export const PRESETS = ['', 'subtle', 'balanced', 'strong'] as const;
export const REFINE_MODES = ['', 'roi', 'whole_frame'] as const;

const MAX_LABELS = 32;
const MAX_LABEL_CHARS = 256;

function invalid(reason: string, sentence: string): VaneliaError {
  return new VaneliaError('gateway', reason, sentence, { code: 'INVALID_ARGUMENT' });
}

const finite = (name: string, value: number, min: number, max: number): void => {
  if (!Number.isFinite(value) || value < min || value > max) throw invalid('INVALID_SPEC', `${name} is ${value}; it must be between ${min} and ${max}.`);
};

/** Checks a job spec before any byte of upload is accepted. */
export function checkSpec(spec: JobSpec, limits: Required<JobLimits>): void {
  const refine = spec.refine;
  if (refine) {
    for (const [name, text] of [['prompt', refine.prompt], ['negative_prompt', refine.negativePrompt]] as const) {
      if ([...text].length > limits.maxPromptChars) {
        throw invalid('PROMPT_TOO_LONG', `the ${name} has ${[...text].length} characters; the limit is ${limits.maxPromptChars}.`);
      }
    }
    if (!(PRESETS as readonly string[]).includes(refine.preset)) throw invalid('UNKNOWN_PRESET', `preset ${JSON.stringify(refine.preset)} is not one of ${PRESETS.filter(Boolean).join(', ')}.`);
    if (!(REFINE_MODES as readonly string[]).includes(refine.mode)) throw invalid('UNKNOWN_MODE', `refine mode ${JSON.stringify(refine.mode)} is not roi or whole_frame.`);
    finite('refine.steps', refine.steps, 0, 200);
    finite('refine.strength', refine.strength, 0, 1);
    finite('refine.guidance_scale', refine.guidanceScale, 0, 50);
    finite('refine.frame_interval', refine.frameInterval, 0, 240);
  }
  if (!(POSE_BACKENDS as readonly string[]).includes(spec.poseBackend)) {
    throw invalid('UNKNOWN_POSE_BACKEND', `pose backend ${JSON.stringify(spec.poseBackend)} is not one of ${POSE_BACKENDS.filter(Boolean).join(', ')}.`);
  }
  const p = spec.placement;
  if (p) {
    finite('placement.pixel_x', p.pixelX, 0, 1e6);
    finite('placement.pixel_y', p.pixelY, 0, 1e6);
    finite('placement.product_height_m', p.productHeightM, 0, 1000);
    finite('placement.product_yaw_deg', p.productYawDeg, -360, 360);
    finite('placement.camera_height_m', p.cameraHeightM, 0, 1000);
  }
  const labels = Object.entries(spec.labels ?? {});
  if (labels.length > MAX_LABELS || labels.some(([k, v]) => k.length + v.length > MAX_LABEL_CHARS)) {
    throw invalid('TOO_MANY_LABELS', `a job takes at most ${MAX_LABELS} labels of ${MAX_LABEL_CHARS} characters.`);
  }
  if (spec.videoSizeBytes > limits.maxVideoBytes) throw tooLarge('VIDEO_TOO_LARGE', 'video', spec.videoSizeBytes, limits.maxVideoBytes);
  if (spec.productSizeBytes > limits.maxProductBytes) throw tooLarge('PRODUCT_TOO_LARGE', 'product', spec.productSizeBytes, limits.maxProductBytes);
}

export function tooLarge(reason: string, what: string, bytes: number, limit: number): VaneliaError {
  return new VaneliaError('gateway', reason, `the ${what} is ${bytes} bytes; the upload limit is ${limit}.`, { code: 'RESOURCE_EXHAUSTED' });
}

/** Checks a probed video against the limits, and the placement against its frames. */
export function checkVideo(video: VideoInfo, limits: Required<JobLimits>, spec?: JobSpec): void {
  if (video.frameCount > limits.maxFrames) {
    throw new VaneliaError('gateway', 'TOO_MANY_FRAMES', `the video has ${video.frameCount} frames; the limit is ${limits.maxFrames}.`, { code: 'RESOURCE_EXHAUSTED' });
  }
  const side = Math.max(video.widthPx, video.heightPx);
  if (side > limits.maxSidePx) {
    throw new VaneliaError('gateway', 'RESOLUTION_TOO_HIGH', `the video is ${video.widthPx}x${video.heightPx}; its longest side may be ${limits.maxSidePx} pixels.`, { code: 'RESOURCE_EXHAUSTED' });
  }
  const p = spec?.placement;
  if (p?.hasPixel && (p.pixelX >= video.widthPx || p.pixelY >= video.heightPx)) {
    throw invalid('ANCHOR_OUTSIDE', `the anchor pixel (${p.pixelX}, ${p.pixelY}) is outside the ${video.widthPx}x${video.heightPx} frame.`);
  }
  if (p && video.frameCount > 0 && p.frameIndex >= video.frameCount) {
    throw invalid('ANCHOR_OUTSIDE', `the anchor frame ${p.frameIndex} is past the video's last frame (${video.frameCount - 1}).`);
  }
}
