import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, frameMemorySchema } from '../src/config';
import { FrameMemory } from '../src/frame-memory';
import { registry } from '../src/metrics';

const dirs: string[] = [];
const memories: FrameMemory[] = [];
const newDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'vanelia-frame-memory-'));
  dirs.push(dir);
  return dir;
};
const open = (dir: string, options = {}): FrameMemory => {
  const memory = new FrameMemory(dir, options, 'compositor');
  memories.push(memory);
  return memory;
};
const filesIn = (dir: string): string[] => readdirSync(join(dir, 'frames')).flatMap((instance) => readdirSync(join(dir, 'frames', instance)).map((f) => `${instance}/${f}`));
const unreadIn = (dir: string): string[] => filesIn(dir).filter((f) => !f.endsWith('.free'));
const sweptTotal = async (): Promise<number> => (await registry.getSingleMetric('vanelia_frame_memory_swept_files_total')!.get()).values.reduce((n, v) => n + v.value, 0);

afterEach(() => {
  for (const memory of memories.splice(0)) memory.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('frame memory folder', () => {
  it('gives one domain id to every process of a folder, another to another folder', () => {
    const dir = newDir();
    const [a, b] = [open(dir), open(dir)];
    expect(a.domain).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.domain).toBe(a.domain);
    expect(open(newDir()).domain).not.toBe(a.domain);
  });

  it('refuses a folder whose domain file is not one', () => {
    const dir = newDir();
    writeFileSync(join(dir, 'domain'), 'hello\n');
    expect(() => open(dir)).toThrow(/compositor: .*domain does not hold a frame memory domain id\./);
  });

  it('passes bytes from writer to reader, who hands the file back for the writer to reuse', () => {
    const dir = newDir();
    const [sender, receiver] = [open(dir), open(dir)];
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) & 255));
    const ref = sender.write(data);
    expect(ref.lengthBytes).toBe(5000);
    expect(ref.path).toMatch(/^frames\/[0-9a-f-]+\/0$/);
    expect(sender.unread(ref)).toBe(true);
    const inode = statSync(join(dir, ref.path)).ino;
    expect(receiver.read(ref).equals(data)).toBe(true);
    expect(sender.unread(ref)).toBe(false);
    expect(unreadIn(dir)).toEqual([]);
    expect(() => receiver.read(ref)).toThrow(/compositor: frame file .* is not in the frame memory folder/);
    // The next frame goes into the same file (its pages reused), shorter this time.
    const next = sender.write(Buffer.alloc(300, 5));
    expect(statSync(join(dir, next.path)).ino).toBe(inode);
    expect(filesIn(dir)).toEqual([next.path.slice('frames/'.length)]);
    expect(receiver.read(next).equals(Buffer.alloc(300, 5))).toBe(true);
    // A file not read yet is never reused.
    const [a, b] = [sender.write(Buffer.alloc(10, 1)), sender.write(Buffer.alloc(10, 2))];
    expect(receiver.read(a).equals(Buffer.alloc(10, 1))).toBe(true);
    expect(receiver.read(b).equals(Buffer.alloc(10, 2))).toBe(true);
  });

  it('refuses paths outside the folder', () => {
    const dir = newDir();
    const memory = open(dir);
    writeFileSync(join(dir, 'secret'), 'x');
    for (const path of ['../secret', '/etc/passwd', 'frames/../secret', 'frames/a/../../secret', 'secret', 'frames/abc/1/../../../secret', 'frames/abc/1\0']) {
      expect(() => memory.read({ path, lengthBytes: 1 }), path).toThrow(/is not a frame file inside the frame memory folder/);
    }
    expect(existsSync(join(dir, 'secret'))).toBe(true);
  });

  it('refuses a file of another size than its ref says, a folder and a link', () => {
    const dir = newDir();
    const memory = open(dir);
    const ref = memory.write(Buffer.alloc(100, 1));
    expect(() => memory.read({ ...ref, lengthBytes: 99 })).toThrow(/holds 100 bytes; its ref says 99/);
    mkdirSync(join(dir, 'frames', 'abc', '7'), { recursive: true });
    expect(() => memory.read({ path: 'frames/abc/7', lengthBytes: 0 })).toThrow(/is not a regular file/);
    symlinkSync(join(dir, 'domain'), join(dir, 'frames', 'abc', '8'));
    expect(() => memory.read({ path: 'frames/abc/8', lengthBytes: 37 })).toThrow(/cannot open frame file frames\/abc\/8/);
  });

  it('sweeps frame files older than the age limit only, and counts them', async () => {
    const dir = newDir();
    const memory = open(dir, { maxAgeMs: 60_000, freeIdleMs: 5000 });
    const fresh = memory.write(Buffer.alloc(10));
    const old = memory.write(Buffer.alloc(10));
    const past = (Date.now() - 120_000) / 1000;
    utimesSync(join(dir, old.path), past, past);
    // Handed-back files: deleted once idle for freeIdleMs, not counted as never read.
    const [idle, recent] = [memory.write(Buffer.alloc(10)), memory.write(Buffer.alloc(10))];
    memory.read(idle);
    memory.read(recent);
    const tenSecondsAgo = (Date.now() - 10_000) / 1000;
    utimesSync(join(dir, `${idle.path}.free`), tenSecondsAgo, tenSecondsAgo);
    // A dead process's folder with one old file: both go.
    mkdirSync(join(dir, 'frames', 'dead-0'));
    writeFileSync(join(dir, 'frames', 'dead-0', '3'), 'x');
    utimesSync(join(dir, 'frames', 'dead-0', '3'), past, past);
    const before = await sweptTotal();
    utimesSync(join(dir, 'frames', 'dead-0'), past, past);
    expect(memory.sweep()).toBe(2);
    expect(await sweptTotal()).toBe(before + 2);
    expect(memory.unread(fresh)).toBe(true);
    expect(memory.unread(old)).toBe(false);
    expect(existsSync(join(dir, 'frames', 'dead-0'))).toBe(false);
    expect(existsSync(join(dir, `${idle.path}.free`))).toBe(false);
    expect(existsSync(join(dir, `${recent.path}.free`))).toBe(true);
    // Its own folder stays even when empty; a write after a sweep of it works too.
    rmSync(join(dir, 'frames'), { recursive: true });
    mkdirSync(join(dir, 'frames'));
    expect(memory.read(memory.write(Buffer.alloc(3, 9))).equals(Buffer.alloc(3, 9))).toBe(true);
  });

  it('is configured from the environment: off by default, an absolute path when on', () => {
    expect(loadConfig('gateway', frameMemorySchema(), {}).VANELIA_FRAME_MEMORY_DIR).toBe('');
    expect(() => loadConfig('gateway', frameMemorySchema(), { VANELIA_FRAME_MEMORY_DIR: 'shm/frames' })).toThrow(/VANELIA_FRAME_MEMORY_DIR="shm\/frames" is not an absolute path/);
    expect(() => loadConfig('gateway', frameMemorySchema(), { VANELIA_FRAME_MEMORY_MAX_AGE_MS: '10' })).toThrow(/VANELIA_FRAME_MEMORY_MAX_AGE_MS="10" is not >= 1000/);
  });

  it('fails with a clear error when the folder cannot be made', () => {
    const dir = newDir();
    writeFileSync(join(dir, 'file'), 'x');
    expect(() => open(join(dir, 'file', 'sub'))).toThrow(/compositor: cannot use .*file\/sub as the frame memory folder \(VANELIA_FRAME_MEMORY_DIR\)/);
  });
});
