import { EncodeConfig, PixelFormat, type DecoderClient, type EncodeRequest, type EncodeResponse, type Frame, type FrameBatch, type VideoInfo } from '@vanelia/proto';
import { batchId } from '@vanelia/runtime';
import { join } from 'node:path';
import type { SegmentRecord } from './job-store';
import { countStageError } from './metrics';
import type { StageReplicas } from './replicas/stage-replicas';
import { statusNameOf } from './stage-errors';
import { asStageError, openClientStream, stageCallOptions, stageMetadata, writeBounded, type ClientStreamCall } from './stage-streams';

export interface SegmentEncodeOptions {
  jobId: string;
  video: VideoInfo;
  /** Frames a segment: segment k holds frames [k * segmentFrames, (k + 1) * segmentFrames). */
  segmentFrames: number;
  /** Storage-relative folder of the segment files. */
  folder: string;
  /** Attempt number, in the file names: a killed attempt's half-written file is never reused. */
  attempt: number;
  /**
   * The first frame that will arrive, when known: its segment's encoder opens at once, so x264 starts up
   * while the first frames are still being decoded and composited instead of after they arrive.
   */
  firstFrame?: number;
  /** Layout of the frames that will arrive (the main pass sends I420). */
  frameFormat: PixelFormat;
  /** x264 settings passed to the decoder (0 / '' = its defaults). */
  crf?: number;
  preset?: string;
  deadlineMs: number;
  replicaWaitMs: number;
  /** Segments still finishing (x264 flushing) while the next one receives frames, at most. */
  maxFinishing?: number;
  signal?: AbortSignal;
  /** Frames handed to encoders so far in this call. */
  onFramesSent?: (frames: number) => void;
  /** A segment is finished (called in segment order): record it, so a restart does not encode it again. */
  onSegment: (segment: SegmentRecord) => Promise<void>;
}

interface OpenSegment {
  index: number;
  firstFrame: number;
  frames: number;
  path: string;
  stream: ClientStreamCall<EncodeRequest, EncodeResponse>;
  release: () => void;
}

/** Splits a batch at segment boundaries (decoded batches are aligned to them; refined ones too). */
function bySegment(batch: FrameBatch, segmentFrames: number): Array<{ index: number; frames: Frame[] }> {
  const out: Array<{ index: number; frames: Frame[] }> = [];
  for (const frame of batch.frames) {
    const index = Math.floor(frame.index / segmentFrames);
    if (out.length === 0 || out[out.length - 1].index !== index) out.push({ index, frames: [] });
    out[out.length - 1].frames.push(frame);
  }
  return out;
}

/**
 * Encodes the job's final frames as consecutive segments, each an Encode call on the least busy decoder
 * replica (video only, into `folder`); a segment's encoder finishes while the next one already receives
 * frames. Every finished segment is reported in order, so the job's progress survives a restart.
 */
export async function encodeSegments(decoders: StageReplicas<DecoderClient>, batches: AsyncIterable<FrameBatch>, o: SegmentEncodeOptions): Promise<void> {
  const maxFinishing = o.maxFinishing ?? 2;
  const finishing: Array<Promise<unknown>> = [];
  let recorded: Promise<void> = Promise.resolve();
  let failure: unknown;
  let current: OpenSegment | undefined;
  let sent = 0;

  const open = async (index: number, firstFrame: number): Promise<OpenSegment> => {
    const replica = await decoders.pick(o.replicaWaitMs, o.signal);
    const release = decoders.acquire(replica);
    const path = join(o.folder, `${String(index).padStart(6, '0')}.a${o.attempt}.mp4`);
    const stream = openClientStream<EncodeRequest, EncodeResponse>((cb) => replica.client.encode(stageMetadata(), stageCallOptions(o.deadlineMs), cb));
    const config = EncodeConfig.fromPartial({ jobId: o.jobId, outputPath: path, video: o.video, audioSourcePath: '', crf: o.crf ?? 0, preset: o.preset ?? '', frameFormat: o.frameFormat });
    await writeBounded(stream.call, { payload: { $case: 'config', value: config } });
    return { index, firstFrame, frames: 0, path, stream, release };
  };

  const close = (segment: OpenSegment): void => {
    segment.stream.call.end();
    const done = segment.stream.result.finally(segment.release);
    const settled = done.then(() => undefined, () => undefined);
    finishing.push(settled);
    void settled.then(() => finishing.splice(finishing.indexOf(settled), 1));
    recorded = recorded.then(async () => {
      const response = await done;
      await o.onSegment({ index: segment.index, firstFrame: segment.firstFrame, frameCount: response.frameCount, path: segment.path, sizeBytes: response.sizeBytes });
    });
    recorded.catch((error: unknown) => (failure ??= error));
  };

  try {
    if (o.firstFrame !== undefined) current = await open(Math.floor(o.firstFrame / o.segmentFrames), o.firstFrame);
    for await (const batch of batches) {
      for (const part of bySegment(batch, o.segmentFrames)) {
        if (failure) throw failure;
        if (current && current.index !== part.index) {
          close(current);
          current = undefined;
        }
        if (!current) {
          while (finishing.length >= maxFinishing) await Promise.race(finishing);
          current = await open(part.index, part.frames[0].index);
        }
        const first = part.frames[0].index;
        const last = part.frames[part.frames.length - 1].index;
        await writeBounded(current.stream.call, { payload: { $case: 'batch', value: { jobId: o.jobId, batchId: batchId(o.jobId, first, last), frames: part.frames } } });
        current.frames += part.frames.length;
        sent += part.frames.length;
        o.onFramesSent?.(sent);
      }
    }
    if (current) close(current);
    current = undefined;
    await recorded;
  } catch (error) {
    current?.stream.call.cancel();
    current?.release();
    // The encoder's own status explains a failed write better than the write does.
    const encoderError = current ? await current.stream.result.then(() => undefined, (e: unknown) => e) : undefined;
    const own = failure ?? encoderError;
    if (own !== undefined) countStageError('encode', statusNameOf(own));
    throw asStageError('decoder', own ?? error, o.signal);
  }
}
