import type { VideoInfo } from '@vanelia/proto';
import { specFromArgs } from '@vanelia/cli';
import { describe, expect, it } from 'vitest';
import { JOB_LIMITS_DEFAULTS, checkSpec, checkVideo } from '../src/limits';

const limits = { ...JOB_LIMITS_DEFAULTS, maxPromptChars: 100, maxFrames: 100, maxSidePx: 1920, maxVideoBytes: 1000 };
const video = (over: Partial<VideoInfo> = {}): VideoInfo => ({
  widthPx: 1920, heightPx: 1080, fpsNum: 30, fpsDen: 1, frameCount: 100, durationS: 3.3, rotationDeg: 0, hasAudio: false, videoCodec: 'h264', audioCodec: '', ...over,
});
const refine = (over: object) => ({ ...specFromArgs({ prompt: 'a vase' }), refine: { ...specFromArgs({ prompt: 'a vase' }).refine!, ...over } });

describe('job limits', () => {
  it('accepts an ordinary spec and video', () => {
    expect(() => checkSpec(specFromArgs({ prompt: 'a vase', preset: 'strong', 'pose-backend': 'tracker' }), limits)).not.toThrow();
    expect(() => checkVideo(video(), limits)).not.toThrow();
  });

  it('names each broken limit in a sentence with the gRPC status a client can act on', () => {
    const cases: Array<[() => void, string, string]> = [
      [() => checkSpec(refine({ prompt: 'é'.repeat(101) }), limits), 'INVALID_ARGUMENT', 'gateway: the prompt has 101 characters; the limit is 100.'],
      [() => checkSpec(refine({ negativePrompt: 'x'.repeat(101) }), limits), 'INVALID_ARGUMENT', 'gateway: the negative_prompt has 101 characters; the limit is 100.'],
      [() => checkSpec(refine({ preset: 'wild' }), limits), 'INVALID_ARGUMENT', 'gateway: preset "wild" is not one of subtle, balanced, strong.'],
      [() => checkSpec(refine({ strength: 1.5 }), limits), 'INVALID_ARGUMENT', 'gateway: refine.strength is 1.5; it must be between 0 and 1.'],
      [() => checkSpec({ ...specFromArgs({}), poseBackend: 'colmap' }, limits), 'INVALID_ARGUMENT', 'gateway: pose backend "colmap" is not one of auto, dust3r, tracker, none.'],
      [() => checkSpec({ ...specFromArgs({}), videoSizeBytes: 1001 }, limits), 'RESOURCE_EXHAUSTED', 'gateway: the video is 1001 bytes; the upload limit is 1000.'],
      [() => checkSpec({ ...specFromArgs({ 'product-height': '-1' }) }, limits), 'INVALID_ARGUMENT', 'gateway: placement.product_height_m is -1; it must be between 0 and 1000.'],
      [() => checkSpec({ ...specFromArgs({ 'camera-height': '-0.5' }) }, limits), 'INVALID_ARGUMENT', 'gateway: placement.camera_height_m is -0.5; it must be between 0 and 1000.'],
      [() => checkVideo(video({ frameCount: 101 }), limits), 'RESOURCE_EXHAUSTED', 'gateway: the video has 101 frames; the limit is 100.'],
      [() => checkVideo(video({ widthPx: 1080, heightPx: 2400 }), limits), 'RESOURCE_EXHAUSTED', 'gateway: the video is 1080x2400; its longest side may be 1920 pixels.'],
      [() => checkVideo(video(), limits, specFromArgs({ anchor: '10,20,100' })), 'INVALID_ARGUMENT', "gateway: the anchor frame 100 is past the video's last frame (99)."],
    ];
    for (const [check, code, message] of cases) expect(check).toThrow(expect.objectContaining({ code, message }));
  });
});
