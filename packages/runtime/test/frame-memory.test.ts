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

  it('keeps a bounded list of its files when it only takes and forwards frames (a gateway)', () => {
    const dir = newDir();
    const [sender, forwarder] = [open(dir), open(dir)];
    const pixel = new Uint8Array([1, 2, 3]);
    for (let i = 0; i < 4200; i++) forwarder.link(forwarder.claim(sender.write(pixel)));
    expect(forwarder.trackedFiles).toBeLessThanOrEqual(4096);
  });

  it('refuses a folder whose domain file is not one', () => {
    const dir = newDir();
    writeFileSync(join(dir, 'domain'), 'hello\n');
    expect(() => open(dir)).toThrow(/compositor: .*domain does not hold a frame memory domain id\./);
  });

  it('passes bytes from writer to reader, who takes the file, reads it and keeps its pages for its own writes', () => {
    const dir = newDir();
    const [sender, receiver] = [open(dir), open(dir)];
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) & 255));
    const ref = sender.write(data);
    expect(ref.lengthBytes).toBe(5000);
    expect(ref.path).toBe(`frames/${sender.instance}/0`);
    expect(sender.unread(ref)).toBe(true);
    const inode = statSync(join(dir, ref.path)).ino;
    const held = receiver.claim(ref);
    expect(held.path.startsWith(`frames/${receiver.instance}/`)).toBe(true);
    expect(sender.unread(ref)).toBe(false); // taken: the sender's backpressure counts it as received
    expect(receiver.read(held).equals(data)).toBe(true);
    expect(unreadIn(dir)).toEqual([]);
    expect(() => receiver.read(held)).toThrow(/compositor: frame file .* is not in the frame memory folder/);
    expect(() => receiver.claim(ref)).toThrow(/compositor: frame file .* is not in the frame memory folder/);
    // The receiver's next frame goes into the same file (its pages reused), shorter this time.
    const next = receiver.write(Buffer.alloc(300, 5));
    expect(statSync(join(dir, next.path)).ino).toBe(inode);
    expect(sender.read(sender.claim(next)).equals(Buffer.alloc(300, 5))).toBe(true);
  });

  it('links a held file for a second reader without copying; the pages are reused only after the last', () => {
    const dir = newDir();
    const [a, b] = [open(dir), open(dir)];
    const held = b.claim(a.write(Buffer.alloc(64, 3)));
    const second = b.link(held);
    expect(statSync(join(dir, second.path)).ino).toBe(statSync(join(dir, held.path)).ino);
    expect(a.read(a.claim(second)).equals(Buffer.alloc(64, 3))).toBe(true);
    expect(b.read(held).equals(Buffer.alloc(64, 3))).toBe(true);
    // Only the last reader handed the file back: one .free file, with one name.
    const free = filesIn(dir).filter((f) => f.endsWith('.free'));
    expect(free).toHaveLength(1);
    expect(statSync(join(dir, 'frames', free[0])).nlink).toBe(1);
  });

  it('refuses paths outside the folder', () => {
    const dir = newDir();
    const memory = open(dir);
    writeFileSync(join(dir, 'secret'), 'x');
    for (const path of ['../secret', '/etc/passwd', 'frames/../secret', 'frames/a/../../secret', 'secret', 'frames/abc/1/../../../secret', 'frames/abc/1\0']) {
      expect(() => memory.read({ path, lengthBytes: 1 }), path).toThrow(/is not a frame file inside the frame memory folder/);
      expect(() => memory.claim({ path, lengthBytes: 1 }), path).toThrow(/is not a frame file inside the frame memory folder/);
    }
    expect(existsSync(join(dir, 'secret'))).toBe(true);
  });

  it('refuses a file of another size than its ref says, a folder and a link', () => {
    const dir = newDir();
    const memory = open(dir);
    const ref = memory.write(Buffer.alloc(100, 1));
    expect(() => memory.claim({ ...ref, lengthBytes: 99 })).toThrow(/holds 100 bytes; its ref says 99/);
    expect(() => memory.read({ ...ref, lengthBytes: 99 })).toThrow(/holds 100 bytes; its ref says 99/);
    mkdirSync(join(dir, 'frames', 'abc', '7'), { recursive: true });
    expect(() => memory.read({ path: 'frames/abc/7', lengthBytes: 0 })).toThrow(/is not a regular file/);
    expect(() => memory.claim({ path: 'frames/abc/7', lengthBytes: 0 })).toThrow(/is not a regular file/);
    symlinkSync(join(dir, 'domain'), join(dir, 'frames', 'abc', '8'));
    expect(() => memory.read({ path: 'frames/abc/8', lengthBytes: 37 })).toThrow(/cannot open frame file frames\/abc\/8/);
    expect(() => memory.claim({ path: 'frames/abc/8', lengthBytes: 37 })).toThrow(/is not a regular file/);
  });

  it('sweeps the folders of gone processes and idle handed-back files, never what a live process holds', async () => {
    const dir = newDir();
    const memory = open(dir, { maxAgeMs: 60_000, freeIdleMs: 5000 });
    const peer = open(dir, { maxAgeMs: 60_000 });
    const past = (Date.now() - 120_000) / 1000;
    // A live process's frames, however old (held unread, or sent and not taken yet): kept.
    const held = memory.claim(peer.write(Buffer.alloc(10, 1)));
    const sent = peer.write(Buffer.alloc(10, 2));
    utimesSync(join(dir, held.path), past, past);
    utimesSync(join(dir, sent.path), past, past);
    // Handed-back files: removed once idle for freeIdleMs, not counted.
    const [idle, recent] = [memory.claim(peer.write(Buffer.alloc(10))), memory.claim(peer.write(Buffer.alloc(10)))];
    memory.read(idle);
    memory.read(recent);
    const tenSecondsAgo = (Date.now() - 10_000) / 1000;
    utimesSync(join(dir, `${idle.path}.free`), tenSecondsAgo, tenSecondsAgo);
    // A gone process's folder (not touched for maxAgeMs) with two frames: removed and counted.
    mkdirSync(join(dir, 'frames', 'dead-0'));
    writeFileSync(join(dir, 'frames', 'dead-0', '3'), 'x');
    writeFileSync(join(dir, 'frames', 'dead-0', '4.free'), 'x');
    writeFileSync(join(dir, 'frames', 'dead-0', '5'), 'x');
    utimesSync(join(dir, 'frames', 'dead-0'), past, past);
    const before = await sweptTotal();
    expect(memory.sweep()).toBe(2);
    expect(await sweptTotal()).toBe(before + 2);
    expect(existsSync(join(dir, 'frames', 'dead-0'))).toBe(false);
    expect(memory.read(held).equals(Buffer.alloc(10, 1))).toBe(true);
    expect(peer.unread(sent)).toBe(true);
    expect(existsSync(join(dir, `${idle.path}.free`))).toBe(false);
    expect(existsSync(join(dir, `${recent.path}.free`))).toBe(true);
    // A process whose folder was removed makes it again on its next write.
    rmSync(join(dir, 'frames'), { recursive: true });
    mkdirSync(join(dir, 'frames'));
    expect(peer.read(peer.claim(memory.write(Buffer.alloc(3, 9)))).equals(Buffer.alloc(3, 9))).toBe(true);
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
