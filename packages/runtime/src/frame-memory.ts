import type { FrameMemoryRef } from '@vanelia/proto';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  closeSync,
  constants as fsConstants,
  existsSync,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  utimesSync,
  rmdirSync,
  unlinkSync,
  writeFileSync,
  writeSync,
  ftruncateSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { frameMemorySchema, loadConfig, type FrameMemoryConfig } from './config';
import { VaneliaError, type StageName } from './errors';
import { frameMemorySwept } from './metrics';

/**
 * Frame bytes through a folder that processes on one machine share (tmpfs: /dev/shm, a memory-backed
 * emptyDir), instead of through gRPC messages: the sender writes a frame into a file and sends its path;
 * the receiver reads the file and hands it back (renames it to `<name>.free`) for the sender to reuse. A random id in `<dir>/domain` names the folder, so
 * two processes know they share it only when they read the same id (frame-transport.ts negotiates it).
 */

export interface FrameMemoryOptions {
  /** A process's folder untouched for this long is a dead process's: the sweeper deletes it and its files. */
  maxAgeMs?: number;
  /** Handed-back files not reused for this long are deleted (their memory goes back to the machine). */
  freeIdleMs?: number;
  /** How often the sweeper runs (it also runs once when the folder is opened). */
  sweepIntervalMs?: number;
  /** Bytes of one call's frames that may wait unread in the folder before its sender waits. */
  callBytes?: number;
}

export const FRAME_MEMORY_DEFAULTS: Required<FrameMemoryOptions> = {
  maxAgeMs: 10 * 60_000,
  freeIdleMs: 30_000,
  sweepIntervalMs: 30_000,
  callBytes: 128 * 1024 * 1024,
};

/** Earlier files looked at for a handed-back one before a new file is made. */
const REUSE_SCAN = 8;
/** Files remembered for reuse at most (the oldest are forgotten; the sweeper removes them). */
const MAX_TRACKED = 4096;
const DOMAIN_PATTERN = /^[0-9a-f-]{36}$/;
/** What a sender writes: frames/<instance>/<sequence>. Anything else from a peer is refused. */
const REF_PATTERN = /^frames\/[0-9a-f-]{1,64}\/[0-9]{1,16}$/;

/** The folder's id: read from `<dir>/domain`, or created there atomically by the first process. */
function readOrCreateDomain(stage: StageName, dir: string): string {
  const path = join(dir, 'domain');
  const read = (): string => {
    const id = readFileSync(path, 'utf8').trim();
    if (!DOMAIN_PATTERN.test(id)) throw new VaneliaError(stage, 'FRAME_MEMORY_DOMAIN', `${path} does not hold a frame memory domain id.`, { code: 'FAILED_PRECONDITION' });
    return id;
  };
  if (existsSync(path)) return read();
  const id = randomUUID();
  const tmp = join(dir, `.domain-${process.pid}-${randomBytes(4).toString('hex')}`);
  writeFileSync(tmp, `${id}\n`);
  try {
    linkSync(tmp, path); // fails when another process got there first: then its id is the folder's
    return id;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return read();
  } finally {
    unlinkSync(tmp);
  }
}

export class FrameMemory {
  /** The folder's id: equal ids mean the same folder. */
  readonly domain: string;
  readonly options: Required<FrameMemoryOptions>;
  /** This process's folder under frames/ (what it holds, and frames it sent that are not taken yet). */
  readonly instance: string;
  private sequence = 0;
  /** Files this process wrote, oldest first: the ones read since are handed back for reuse. */
  private readonly written: string[] = [];
  private readonly timer: NodeJS.Timeout;

  /** Opens (creating if needed) the folder and starts its sweeper; fails with a clear error if unusable. */
  constructor(
    readonly dir: string,
    options: FrameMemoryOptions = {},
    private readonly stage: StageName = 'gateway',
  ) {
    this.options = { ...FRAME_MEMORY_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
    try {
      mkdirSync(join(dir, 'frames'), { recursive: true });
      this.domain = readOrCreateDomain(stage, dir);
    } catch (error) {
      if (error instanceof VaneliaError) throw error;
      throw new VaneliaError(stage, 'FRAME_MEMORY_DIR', `cannot use ${dir} as the frame memory folder (VANELIA_FRAME_MEMORY_DIR): ${(error as Error).message}.`, { code: 'FAILED_PRECONDITION', cause: error });
    }
    this.instance = `${process.pid.toString(16)}-${randomBytes(6).toString('hex')}`;
    this.sweep(); // also makes this process's folder
    this.timer = setInterval(() => this.sweep(), this.options.sweepIntervalMs).unref();
  }

  private get instanceDir(): string {
    return join(this.dir, 'frames', this.instance);
  }

  /** Writes one frame's bytes into a frame file (a handed-back one when there is one); returns its ref. */
  write(data: Uint8Array): FrameMemoryRef {
    const path = `frames/${this.instance}/${this.sequence++}`;
    const fd = this.openForWrite(join(this.dir, path));
    try {
      ftruncateSync(fd, data.byteLength);
      for (let at = 0; at < data.byteLength; ) at += writeSync(fd, data, at, data.byteLength - at, at);
    } finally {
      closeSync(fd);
    }
    this.remember(path);
    return { path, lengthBytes: data.byteLength };
  }

  /** Runs a file operation into this process's folder, re-creating the folder once when it is gone (the sweeper
   * may have removed it while this process held nothing for a long time). */
  private inInstanceDir(op: () => void): void {
    try {
      op();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || existsSync(this.instanceDir)) throw error;
      mkdirSync(this.instanceDir, { recursive: true });
      op();
    }
  }

  /** Files this process tracks for reuse (bounded; diagnostics and tests). */
  get trackedFiles(): number {
    return this.written.length;
  }

  /** Tracks a file of this process for reuse; bounded, so a process that only forwards frames keeps no growing list. */
  private remember(path: string): void {
    this.written.push(path);
    if (this.written.length > MAX_TRACKED) this.written.shift();
  }

  /**
   * A file for the next frame: one of this process's files that a reader handed back (renamed to
   * `<name>.free`), whose memory pages are reused, or a new one. Fresh tmpfs pages cost a page fault and
   * zeroing each; reused ones only the copy.
   */
  private openForWrite(path: string): number {
    for (let i = 0; i < Math.min(this.written.length, REUSE_SCAN); ) {
      const earlier = join(this.dir, this.written[i]);
      try {
        renameSync(`${earlier}.free`, path);
        this.written.splice(i, 1);
        const fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_NOFOLLOW);
        if (fstatSync(fd).nlink === 1) return fd;
        closeSync(fd); // its pages are shared with another name: never write over them
        unlinkSync(path);
      } catch {
        if (existsSync(earlier)) i += 1; // not read yet
        else this.written.splice(i, 1); // read and removed, or swept: nothing to reuse
      }
    }
    try {
      return openSync(path, 'wx');
    } catch (error) {
      // The sweeper may have removed this process's folder while it sent nothing for a long time.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      mkdirSync(this.instanceDir, { recursive: true });
      return openSync(path, 'wx');
    }
  }

  /**
   * Reads a frame a peer wrote and hands its file back to the writer (renamed to `<name>.free`). The
   * path must be one a sender writes (inside the folder, no ".."), the file a regular file of the
   * declared size: otherwise a VaneliaError.
   */
  read(ref: FrameMemoryRef, stage: StageName = this.stage): Buffer {
    return this.readInto(ref, Buffer.allocUnsafe(ref.lengthBytes), stage);
  }

  /** `read` into `target` (at least the frame's size): the bytes are `target`'s first `lengthBytes`. */
  readInto(ref: FrameMemoryRef, target: Buffer, stage: StageName = this.stage): Buffer {
    if (target.byteLength < ref.lengthBytes) throw new VaneliaError(stage, 'FRAME_MEMORY_REF', `frame file ${ref.path} holds ${ref.lengthBytes} bytes; the buffer for it ${target.byteLength}.`);
    const path = this.pathOf(ref, stage);
    let fd: number;
    try {
      fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    } catch (error) {
      throw this.openError(ref, stage, error);
    }
    try {
      const stat = fstatSync(fd);
      this.checkStat(ref, stage, stat);
      const data = target.subarray(0, stat.size);
      for (let at = 0; at < data.byteLength; ) {
        const n = readSync(fd, data, at, data.byteLength - at, at);
        if (n === 0) throw new VaneliaError(stage, 'FRAME_MEMORY_REF', `frame file ${ref.path} ended after ${at} bytes.`);
        at += n;
      }
      // Handed back for its writer to reuse the pages; a file also linked elsewhere (a retained frame) is only unlinked.
      if (stat.nlink === 1) renameSync(path, `${path}.free`);
      else unlinkSync(path);
      return data;
    } finally {
      closeSync(fd);
    }
  }

  /** Checks a ref a peer sent (a frame file inside the folder, of the declared size) without reading it. */
  check(ref: FrameMemoryRef, stage: StageName = this.stage): void {
    const path = this.pathOf(ref, stage);
    let stat: Stats;
    try {
      stat = lstatSync(path);
    } catch (error) {
      throw this.openError(ref, stage, error);
    }
    this.checkStat(ref, stage, stat);
  }

  private pathOf(ref: FrameMemoryRef, stage: StageName): string {
    if (!REF_PATTERN.test(ref.path)) {
      throw new VaneliaError(stage, 'FRAME_MEMORY_REF', `frame memory path ${JSON.stringify(ref.path.slice(0, 120))} is not a frame file inside the frame memory folder.`);
    }
    return join(this.dir, ref.path);
  }

  private openError(ref: FrameMemoryRef, stage: StageName, error: unknown): VaneliaError {
    const gone = (error as NodeJS.ErrnoException).code === 'ENOENT';
    return new VaneliaError(
      stage,
      'FRAME_MEMORY_GONE',
      gone ? `frame file ${ref.path} is not in the frame memory folder (read already, or swept after ${this.options.maxAgeMs} ms).` : `cannot open frame file ${ref.path}: ${(error as Error).message}.`,
      { code: 'UNAVAILABLE', retryable: true, cause: error },
    );
  }

  private checkStat(ref: FrameMemoryRef, stage: StageName, stat: Stats): void {
    if (!stat.isFile()) throw new VaneliaError(stage, 'FRAME_MEMORY_REF', `frame memory path ${ref.path} is not a regular file.`);
    if (stat.size !== ref.lengthBytes) {
      throw new VaneliaError(stage, 'FRAME_MEMORY_REF', `frame file ${ref.path} holds ${stat.size} bytes; its ref says ${ref.lengthBytes}.`);
    }
  }

  /**
   * Takes a frame file a peer sent: checks it (inside the folder, a regular file of the declared size)
   * and moves it into this process's folder, which holds it from now on (its sender sees it taken).
   */
  claim(ref: FrameMemoryRef, stage: StageName = this.stage): FrameMemoryRef {
    this.check(ref, stage);
    const path = `frames/${this.instance}/${this.sequence++}`;
    try {
      this.inInstanceDir(() => renameSync(join(this.dir, ref.path), join(this.dir, path)));
    } catch (error) {
      throw this.openError(ref, stage, error);
    }
    this.remember(path);
    return { path, lengthBytes: ref.lengthBytes };
  }

  /** A second name for a frame file (a hard link in this process's folder): the same bytes, not copied. */
  link(ref: FrameMemoryRef): FrameMemoryRef {
    const path = `frames/${this.instance}/${this.sequence++}`;
    this.inInstanceDir(() => linkSync(join(this.dir, ref.path), join(this.dir, path)));
    this.remember(path);
    return { path, lengthBytes: ref.lengthBytes };
  }

  /** Whether a frame file sent is still waiting for its receiver to take it. */
  unread(ref: FrameMemoryRef): boolean {
    return existsSync(join(this.dir, ref.path));
  }

  /** Removes a frame file nobody will read (its call ended); a file already read is fine. */
  discard(ref: FrameMemoryRef): void {
    if (!REF_PATTERN.test(ref.path)) return;
    try {
      unlinkSync(join(this.dir, ref.path));
    } catch {
      // read (and removed) by its receiver meanwhile
    }
  }

  /**
   * Removes what nobody will read: the folders of processes gone for `maxAgeMs` (each live process
   * touches its folder at every sweep; what it holds or sends is never removed while it lives) and
   * handed-back files idle for `freeIdleMs`. Returns how many frame files of gone processes it removed.
   */
  sweep(nowMs = Date.now()): number {
    const framesDir = join(this.dir, 'frames');
    const list = (dir: string): string[] => {
      try {
        return readdirSync(dir);
      } catch {
        return [];
      }
    };
    try {
      mkdirSync(this.instanceDir, { recursive: true });
      utimesSync(this.instanceDir, nowMs / 1000, nowMs / 1000); // "alive"
    } catch {
      // the folder itself is gone: writes will fail with a clear error
    }
    let removed = 0;
    for (const instance of list(framesDir)) {
      const dir = join(framesDir, instance);
      let gone = false;
      try {
        gone = instance !== this.instance && nowMs - lstatSync(dir).mtimeMs > this.options.maxAgeMs;
      } catch {
        continue;
      }
      for (const name of list(dir)) {
        const free = name.endsWith('.free');
        try {
          if (gone || (free && nowMs - lstatSync(join(dir, name)).mtimeMs > this.options.freeIdleMs)) {
            unlinkSync(join(dir, name));
            if (!free) removed += 1;
          }
        } catch {
          // taken or removed by another process meanwhile
        }
      }
      if (gone) {
        try {
          rmdirSync(dir);
        } catch {
          // written to again, or removed by another sweeper
        }
      }
    }
    if (removed > 0) frameMemorySwept.inc(removed);
    return removed;
  }

  /** Stops the sweeper. Files still unread stay (a peer may read them after this process exits). */
  close(): void {
    clearInterval(this.timer);
  }
}

const opened = new Map<string, FrameMemory>();

/** The process's frame memory for a configuration (one a folder), or undefined when the transport is off. */
export function frameMemoryFor(config: FrameMemoryConfig, stage: StageName = 'gateway'): FrameMemory | undefined {
  const dir = config.VANELIA_FRAME_MEMORY_DIR;
  if (dir === '') return undefined;
  let memory = opened.get(dir);
  if (!memory) {
    memory = new FrameMemory(dir, { maxAgeMs: config.VANELIA_FRAME_MEMORY_MAX_AGE_MS, callBytes: config.VANELIA_FRAME_MEMORY_CALL_BYTES }, stage);
    opened.set(dir, memory);
  }
  return memory;
}

/** The frame memory VANELIA_FRAME_MEMORY_* in the environment describe (clients made outside a service). */
export function frameMemoryFromEnv(stage: StageName = 'gateway', source: NodeJS.ProcessEnv = process.env): FrameMemory | undefined {
  return frameMemoryFor(loadConfig(stage, frameMemorySchema(), source), stage);
}
