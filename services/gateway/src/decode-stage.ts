import { DecodeRequest, PixelFormat, VideoInfo, type DecodeResponse, type DecoderClient, type FrameBatch } from '@vanelia/proto';
import { resolveStoragePath } from '@vanelia/runtime';
import { stat } from 'node:fs/promises';
import type { StageReplicas } from './replicas/stage-replicas';
import { asStageError, readServerStream, stageCallOptions, stageMetadata } from './stage-streams';
import { countStageError } from './metrics';
import { statusNameOf } from './stage-errors';

export interface DecodeCallOptions {
  /** Deadline of the call. */
  deadlineMs: number;
  /** Longest wait for a serving decoder. */
  replicaWaitMs: number;
  signal?: AbortSignal;
}

/** Probes a video on the storage through a decoder replica. */
export async function probeVideo(decoders: StageReplicas<DecoderClient>, path: string, o: DecodeCallOptions): Promise<VideoInfo> {
  const replica = await decoders.pick(o.replicaWaitMs, o.signal);
  const release = decoders.acquire(replica);
  try {
    return await new Promise<VideoInfo>((resolve, reject) =>
      replica.client.probe({ sourcePath: path }, stageMetadata(), stageCallOptions(o.deadlineMs), (error, info) => (error ? reject(error) : resolve(info))),
    );
  } catch (error) {
    countStageError('decode', statusNameOf(error));
    throw asStageError('decoder', error, o.signal);
  } finally {
    release();
  }
}

/**
 * Probe results by file identity (storage path, size, modification time, inode), so the probe made when a
 * job is submitted is not repeated when it starts moments later. Bounded (oldest dropped first); a changed
 * or replaced file is probed again, and a gateway that restarts simply probes again.
 */
export class VideoProbeCache {
  private readonly entries = new Map<string, VideoInfo>();

  constructor(
    private readonly storageRoot: string,
    private readonly capacity = 256,
  ) {}

  /** The cached answer for the file as it is now, else `probe(path)` (remembered when it succeeds). */
  async probe(path: string, probe: (path: string) => Promise<VideoInfo>): Promise<VideoInfo> {
    const key = await this.identity(path);
    const hit = key === undefined ? undefined : this.entries.get(key);
    if (hit) return VideoInfo.fromPartial(hit);
    const info = await probe(path);
    if (key !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, VideoInfo.fromPartial(info));
      if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    }
    return info;
  }

  private async identity(path: string): Promise<string | undefined> {
    try {
      const s = await stat(resolveStoragePath('gateway', this.storageRoot, path));
      return [path, s.size, s.mtimeMs, s.ino].join('\0');
    } catch {
      return undefined; // not readable here: the decoder's answer (an error) says why
    }
  }
}

export interface DecodeRange {
  jobId: string;
  path: string;
  batchSize: number;
  /** First frame wanted; batches start here and every `batchSize` frames after. */
  startFrame: number;
  /** Stop before this frame (0 or absent: to the end). */
  endFrame?: number;
  /** Frame layout: I420 (the codec's own; half of RGB's bytes, no conversion for untouched frames) or RGB8. */
  format: PixelFormat;
}

/** The frame batches of a video from `startFrame`, decoded by one decoder replica (one buffered at most). */
export async function* decodeBatches(decoders: StageReplicas<DecoderClient>, range: DecodeRange, o: DecodeCallOptions): AsyncGenerator<FrameBatch> {
  const replica = await decoders.pick(o.replicaWaitMs, o.signal);
  const release = decoders.acquire(replica);
  try {
    const call = replica.client.decode(
      DecodeRequest.fromPartial({ jobId: range.jobId, sourcePath: range.path, batchSize: range.batchSize, startFrame: range.startFrame, endFrame: range.endFrame ?? 0, format: range.format }),
      stageMetadata(),
      stageCallOptions(o.deadlineMs),
    );
    for await (const message of readServerStream<DecodeResponse>('decoder', call, o.signal)) {
      if (message.payload?.$case === 'batch') yield message.payload.value;
    }
  } catch (error) {
    countStageError('decode', statusNameOf((error as { cause?: unknown }).cause ?? error));
    throw error;
  } finally {
    release();
  }
}
