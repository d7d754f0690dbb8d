import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { VaneliaError, silentLogger, type Logger, type StageName } from '@vanelia/runtime';
import { transferables, type FinishedFrame, type FinishTask } from './frame-finish';
import type { WorkerReply, WorkerRequest } from './frame-worker';

/**
 * A pool of worker threads that finish frames (frame-finish.ts) while the job's thread keeps the GPU fed.
 * Tasks queue in arrival order and each worker takes one at a time; results come back by task, so callers
 * keep their own order. Read-back buffers go to the worker without copying (transferred); the frame itself
 * is the caller's and is copied once. A worker that dies (crash, out of memory) fails the frame it held with a
 * clear error and is replaced; the pool goes on serving.
 *
 * Workers load frame-worker.mjs from beside this module when it sits in a bundle (the service image, the
 * GPU machine's pack), else frame-worker.ts through tsx (development, tests).
 */

export interface FramePoolOptions {
  /** Worker threads (0: defaultPoolSize(), at least 1). */
  size?: number;
  /** The worker entry (a JavaScript file); default: frame-worker.mjs beside this module, else frame-worker.ts through tsx. */
  workerEntry?: string;
  /** Longest wait for a worker to start. */
  startTimeoutMs?: number;
}

export const FRAME_POOL_DEFAULTS: Required<FramePoolOptions> = {
  size: 0,
  workerEntry: '',
  startTimeoutMs: 60_000,
};

/**
 * Default pool size: half the cores but one, capped. On the 16-core GPU machine 7 workers gave steadier and mostly
 * faster throughput than 11 or 15 (the job's thread, Dawn's and the driver's threads need cores too, and
 * more workers contend for memory bandwidth). 0 (no pool) on two cores or fewer, where the software
 * rasterizer already uses every core and a worker only competes with it (measured: the same CPU time a
 * frame, more exposed to other load).
 */
export function defaultPoolSize(): number {
  const cores = availableParallelism();
  return cores <= 2 ? 0 : Math.min(32, Math.max(1, Math.floor(cores / 2) - 1));
}

interface Task {
  id: number;
  request: WorkerRequest;
  transfer: ArrayBuffer[];
  resolve: (result: FinishedFrame) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  busy?: Task;
}

/** How a worker is started: a file, or (development) a bootstrap that registers tsx and imports the source. */
function workerSource(entry: string): { code: string; eval: boolean } {
  if (entry) return { code: entry, eval: false };
  const here = dirname(fileURLToPath(import.meta.url));
  const bundled = join(here, 'frame-worker.mjs');
  if (existsSync(bundled)) return { code: bundled, eval: false };
  const source = join(here, 'frame-worker.ts');
  let tsx: string | undefined;
  try {
    tsx = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs');
  } catch {
    tsx = undefined;
  }
  if (!existsSync(source) || !tsx) {
    throw new VaneliaError('compositor', 'NO_FRAME_WORKER', `no frame worker to start: bundle frame-worker.ts as ${bundled}, or run from source with tsx installed.`, { code: 'UNAVAILABLE' });
  }
  const code = `import(${JSON.stringify(pathToFileURL(tsx).href)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(pathToFileURL(source).href)}); });`;
  return { code, eval: true };
}

/** The error a worker sent back, as a VaneliaError again. */
function errorFrom(reply: Extract<WorkerReply, { ok: false }>, frameIndex: number): VaneliaError {
  const e = reply.error;
  if (e.stage && e.reason && e.message.startsWith(`${e.stage}: `)) {
    return new VaneliaError(e.stage as StageName, e.reason, e.message.slice(e.stage.length + 2), { code: e.code as never, retryable: e.retryable });
  }
  return new VaneliaError('compositor', 'FRAME_FAILED', `compositing frame ${frameIndex} failed: ${e.message}`, { code: 'INTERNAL' });
}

export class FramePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  private broken: VaneliaError | undefined;
  private readonly source: { code: string; eval: boolean };

  private constructor(
    readonly size: number,
    private readonly opts: Required<FramePoolOptions>,
    private readonly logger: Logger,
  ) {
    this.source = workerSource(opts.workerEntry);
  }

  /** Starts the workers and waits until every one is ready; throws a VaneliaError when they cannot start. */
  static async create(options: FramePoolOptions = {}, logger: Logger = silentLogger): Promise<FramePool> {
    const opts = { ...FRAME_POOL_DEFAULTS };
    for (const key of Object.keys(opts) as (keyof FramePoolOptions)[]) if (options[key] !== undefined) (opts as Record<string, unknown>)[key] = options[key];
    const pool = new FramePool(opts.size > 0 ? Math.floor(opts.size) : Math.max(1, defaultPoolSize()), opts, logger);
    try {
      await Promise.all(Array.from({ length: pool.size }, () => pool.spawn()));
    } catch (error) {
      await pool.close();
      throw error;
    }
    logger.info('frame pool ready', { workers: pool.size });
    return pool;
  }

  /** Finishes one frame in a worker. The task's read-back buffers are transferred (unusable here after). */
  run(task: FinishTask): Promise<FinishedFrame> {
    if (this.closed) return Promise.reject(new VaneliaError('compositor', 'POOL_CLOSED', 'the frame pool is closed.', { code: 'UNAVAILABLE', retryable: true }));
    if (this.broken) return Promise.reject(this.broken);
    const p = task.passes;
    // The frame is the caller's and may be a view into a whole message (cloning a view clones its whole
    // buffer): the worker gets a copy of just the frame, moved rather than cloned.
    const frame = { ...task.frame, data: new Uint8Array(task.frame.data) };
    const transfer = transferables([frame.data, p?.product.color, p?.product.aux, p?.product.coverage, p?.shadow.aux]);
    return new Promise<FinishedFrame>((resolve, reject) => {
      const id = this.nextId++;
      this.queue.push({ id, request: { id, task: { ...task, frame } }, transfer, resolve, reject });
      this.dispatch();
    });
  }

  /** Ends one worker abruptly, as a crash would (tests and fault drills); the pool replaces it. */
  async killWorker(index: number): Promise<void> {
    await this.slots[index]?.worker.terminate();
  }

  /** Stops every worker; tasks not finished fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new VaneliaError('compositor', 'POOL_CLOSED', 'the frame pool closed before the frame was composited.', { code: 'UNAVAILABLE', retryable: true });
    for (const task of this.queue.splice(0)) task.reject(error);
    for (const slot of this.slots) slot.busy?.reject(error);
    await Promise.all(this.slots.splice(0).map((slot) => slot.worker.terminate()));
  }

  private spawn(): Promise<void> {
    const worker = new Worker(this.source.code, { eval: this.source.eval, name: 'vanelia-frame-worker' });
    const slot: Slot = { worker, ready: false };
    this.slots.push(slot);
    let lastError: Error | undefined;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new VaneliaError('compositor', 'FRAME_WORKER_START', `a frame worker did not start within ${this.opts.startTimeoutMs} ms.`, { code: 'UNAVAILABLE' }));
        void worker.terminate();
      }, this.opts.startTimeoutMs);
      worker.on('message', (message: WorkerReply | { ready: true }) => {
        if ('ready' in message) {
          clearTimeout(timer);
          slot.ready = true;
          resolve();
          this.dispatch();
          return;
        }
        const task = slot.busy;
        slot.busy = undefined;
        if (task && task.id === message.id) {
          if (message.ok) task.resolve(message.result);
          else task.reject(errorFrom(message, task.request.task.frameIndex));
        }
        this.dispatch();
      });
      worker.on('error', (error) => {
        lastError = error;
      });
      worker.on('exit', (code) => {
        clearTimeout(timer);
        const index = this.slots.indexOf(slot);
        if (index >= 0) this.slots.splice(index, 1);
        if (this.closed) return;
        const why = lastError ? `: ${lastError.message}` : '';
        if (!slot.ready) {
          this.broken = new VaneliaError('compositor', 'FRAME_WORKER_START', `a frame worker could not start (exit code ${code}${why}).`, { code: 'UNAVAILABLE' });
          reject(this.broken);
          for (const task of this.queue.splice(0)) task.reject(this.broken);
          return;
        }
        const frame = slot.busy?.request.task.frameIndex;
        this.logger.error('frame worker stopped; starting another', { exitCode: code, frameIndex: frame, error: lastError?.message });
        slot.busy?.reject(
          new VaneliaError('compositor', 'FRAME_WORKER_CRASHED', `the worker compositing frame ${frame} stopped (exit code ${code}${why}); the job fails and the worker is replaced.`, {
            code: 'INTERNAL',
            retryable: true,
          }),
        );
        this.spawn().catch((error: Error) => this.logger.error('frame worker could not be replaced', { error: error.message }));
      });
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (!slot.ready || slot.busy) continue;
      const task = this.queue.shift()!;
      slot.busy = task;
      try {
        slot.worker.postMessage(task.request, task.transfer);
      } catch (error) {
        slot.busy = undefined;
        task.reject(new VaneliaError('compositor', 'FRAME_FAILED', `frame ${task.request.task.frameIndex} could not be sent to a worker: ${(error as Error).message}`, { code: 'INTERNAL' }));
      }
    }
  }
}
