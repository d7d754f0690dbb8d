import type { Frame, FrameMemoryRef } from '@vanelia/proto';
import { VaneliaError, type StageName } from './errors';
import type { FrameMemory } from './frame-memory';

/**
 * A frame received through the frame memory is not read at once: its `data` reads the file when first
 * used. A frame passed on unread to a peer of the same memory moves as its file, never copied: a stage
 * that only forwards frames (the gateway, a compositor with nothing to draw) costs no copy.
 *
 * Who holds the file: the receiver, until it reads the data (the file is handed back), passes the frame
 * on (the peer holds it then; reading `data` afterwards fails, unless it was retained), releases it, or
 * drops the frame (removed when the frame object is garbage collected; the sweeper is the last resort).
 * `retainFrames` keeps a copy-free hold across sends (a hard link a send): for batches that may have to
 * be sent again; `releaseFrames` ends it.
 */

type LeaseState = 'held' | 'retained' | 'read' | 'passed' | 'released';

class FrameLease {
  state: LeaseState = 'held';
  constructor(
    readonly memory: FrameMemory,
    readonly ref: FrameMemoryRef,
    readonly stage: StageName,
  ) {}
}

const leases = new WeakMap<Frame, FrameLease>();
/** Files of frames dropped unread: removed when their frame object is collected. */
const dropped = new FinalizationRegistry<FrameLease>((lease) => {
  if (lease.state === 'held' || lease.state === 'retained') lease.memory.discard(lease.ref);
});

/** A frame whose bytes are read from the frame memory when `data` is first used. */
export function lazyFrame(frame: Frame, memory: FrameMemory, stage: StageName): Frame {
  const lease = new FrameLease(memory, frame.memoryRef!, stage);
  const out = { ...frame, memoryRef: undefined } as Frame;
  const settle = (data: Buffer): void => {
    Object.defineProperty(out, 'data', { value: data, writable: true, enumerable: true, configurable: true });
  };
  Object.defineProperty(out, 'data', {
    enumerable: true,
    configurable: true,
    get(): Buffer {
      if (lease.state === 'passed' || lease.state === 'released') {
        throw new VaneliaError(stage, 'FRAME_PASSED_ON', `frame ${frame.index} was ${lease.state === 'passed' ? 'passed on to another process unread' : 'released'}; read its data before that to keep it.`, { code: 'INTERNAL' });
      }
      const data = memory.read(lease.ref, stage);
      lease.state = 'read';
      settle(data);
      return data;
    },
    set(data: Buffer) {
      // New bytes replace the frame's: its file is not needed any more.
      if (lease.state === 'held' || lease.state === 'retained') memory.discard(lease.ref);
      lease.state = 'released';
      settle(data);
    },
  });
  leases.set(out, lease);
  dropped.register(out, lease);
  return out;
}

/**
 * How a frame goes to a peer that shares `memory`: its unread file (passed on, or linked when retained),
 * or undefined when the frame has its bytes (or its file is in another memory).
 */
export function passFrameRef(frame: Frame, memory: FrameMemory): FrameMemoryRef | undefined {
  const lease = leases.get(frame);
  if (!lease || lease.memory.domain !== memory.domain) return undefined;
  if (lease.state === 'held') {
    lease.state = 'passed';
    return lease.ref;
  }
  if (lease.state === 'retained') return memory.link(lease.ref);
  return undefined;
}

/** Whether `frame` still waits in the frame memory unread (its data is read when first used). */
export function isLazyFrame(frame: Frame): boolean {
  const state = leases.get(frame)?.state;
  return state === 'held' || state === 'retained';
}

/**
 * Reads an unread frame's bytes into `target` (reusable: no new memory a frame) and lets go of its file;
 * the frame's own `data` is gone afterwards. Undefined when the frame is not waiting in the frame memory.
 */
export function readFrameInto(frame: Frame, target: Buffer): Buffer | undefined {
  const lease = leases.get(frame);
  if (!lease || (lease.state !== 'held' && lease.state !== 'retained')) return undefined;
  const bytes = lease.memory.readInto(lease.ref, target, lease.stage);
  lease.state = 'released';
  return bytes;
}

/** Keeps unread frames' files across sends (each send links them), until `releaseFrames`. */
export function retainFrames(frames: Iterable<Frame | undefined>): void {
  for (const frame of frames) {
    const lease = frame && leases.get(frame);
    if (lease?.state === 'held') lease.state = 'retained';
  }
}

/** Ends a hold: the files of retained (or held) unread frames are removed. */
export function releaseFrames(frames: Iterable<Frame | undefined>): void {
  for (const frame of frames) {
    const lease = frame && leases.get(frame);
    if (lease && (lease.state === 'held' || lease.state === 'retained')) {
      lease.state = 'released';
      lease.memory.discard(lease.ref);
    }
  }
}
