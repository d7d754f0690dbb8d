import { CameraTrack, type FrameBatch, type PoseClient, type TrackConfig, type TrackEvent } from '@vanelia/proto';
import { VaneliaError } from '@vanelia/runtime';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { countStageError } from './metrics';
import type { StageReplicas } from './replicas/stage-replicas';
import { statusNameOf } from './stage-errors';
import { asStageError, limitReadBuffer, stageCallOptions, stageMetadata, writeBounded } from './stage-streams';

export interface TrackCallOptions {
  deadlineMs: number;
  replicaWaitMs: number;
  signal?: AbortSignal;
  /** The pose service's own progress (step, done, total). */
  onProgress?: (step: string, done: number, total: number) => void;
  /** Frames sent to pose so far. */
  onFramesSent?: (frames: number) => void;
}

/**
 * Runs pose on every frame in one call (it needs the whole video before it can place the product): the
 * config, then every batch with bounded writes, while its events (progress, depth, track) are read.
 */
export async function trackCameras(poses: StageReplicas<PoseClient>, config: TrackConfig, frames: AsyncIterable<FrameBatch>, o: TrackCallOptions): Promise<CameraTrack> {
  const replica = await poses.pick(o.replicaWaitMs, o.signal);
  const release = poses.acquire(replica);
  const call = limitReadBuffer(replica.client.track(stageMetadata(), stageCallOptions(o.deadlineMs)), 4);
  const onAbort = (): void => call.cancel();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  let track: CameraTrack | undefined;
  const reading = (async () => {
    for await (const event of call as AsyncIterable<TrackEvent>) {
      if (event.payload?.$case === 'progress') o.onProgress?.(event.payload.value.step, event.payload.value.done, event.payload.value.total);
      else if (event.payload?.$case === 'track') track = event.payload.value;
    }
  })();
  reading.catch(() => undefined);
  try {
    await writeBounded(call, { payload: { $case: 'config', value: config } });
    let sent = 0;
    for await (const batch of frames) {
      await writeBounded(call, { payload: { $case: 'batch', value: batch } });
      sent += batch.frames.length;
      o.onFramesSent?.(sent);
    }
    call.end();
    await reading;
  } catch (error) {
    call.cancel();
    // The pose service's own status explains why the writes stopped, when it failed first.
    const serverError = await reading.then(() => undefined, (e: unknown) => e);
    countStageError('pose', statusNameOf(serverError ?? error));
    throw asStageError('pose', serverError ?? error, o.signal);
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    release();
  }
  if (!track) throw new VaneliaError('pose', 'NO_TRACK', 'the pose service ended without a camera track.', { code: 'INTERNAL', retryable: true });
  return track;
}

/** Keeps a camera track on the storage (a restarted job does not run pose again). */
export async function saveTrack(path: string, track: CameraTrack): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, CameraTrack.encode(track).finish());
  await rename(tmp, path);
}

export async function loadTrack(path: string): Promise<CameraTrack> {
  return CameraTrack.decode(await readFile(path));
}
