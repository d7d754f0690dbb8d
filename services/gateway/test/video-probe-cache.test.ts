import { VideoInfo } from '@vanelia/proto';
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VideoProbeCache } from '../src/decode-stage';

/** A probe that counts its calls and answers with the file's name as the codec. */
function countingProbe() {
  const calls: string[] = [];
  const probe = async (path: string) => {
    calls.push(path);
    return VideoInfo.fromPartial({ widthPx: 64, heightPx: 48, frameCount: calls.length, videoCodec: path });
  };
  return { calls, probe };
}

describe('VideoProbeCache', () => {
  const root = mkdtempSync(join(tmpdir(), 'vanelia-probe-cache-'));
  writeFileSync(join(root, 'a.mp4'), 'first');
  writeFileSync(join(root, 'b.mp4'), 'other');

  it('answers a second probe of the same file without probing again, with its own copy', async () => {
    const cache = new VideoProbeCache(root);
    const { calls, probe } = countingProbe();
    const first = await cache.probe('a.mp4', probe);
    first.frameCount = 999; // a caller changing its answer must not change the cache's
    const second = await cache.probe('a.mp4', probe);
    expect(calls).toEqual(['a.mp4']);
    expect(second.frameCount).toBe(1);
    expect(second.videoCodec).toBe('a.mp4');
  });

  it('probes again when the file changed (size or modification time) or is another file', async () => {
    const cache = new VideoProbeCache(root);
    const { calls, probe } = countingProbe();
    await cache.probe('a.mp4', probe);
    await cache.probe('b.mp4', probe);
    writeFileSync(join(root, 'a.mp4'), 'replaced, longer');
    expect((await cache.probe('a.mp4', probe)).frameCount).toBe(3);
    utimesSync(join(root, 'a.mp4'), new Date(), new Date(Date.now() + 60_000));
    await cache.probe('a.mp4', probe);
    expect(calls).toEqual(['a.mp4', 'b.mp4', 'a.mp4', 'a.mp4']);
  });

  it('never caches a file it cannot see or a probe that failed, and keeps at most its capacity', async () => {
    const cache = new VideoProbeCache(root, 1);
    const { calls, probe } = countingProbe();
    await cache.probe('missing.mp4', probe);
    await cache.probe('missing.mp4', probe);
    await expect(cache.probe('a.mp4', async () => Promise.reject(new Error('decoder: not a video')))).rejects.toThrow('not a video');
    await cache.probe('a.mp4', probe);
    await cache.probe('b.mp4', probe); // evicts a.mp4
    await cache.probe('a.mp4', probe);
    expect(calls).toEqual(['missing.mp4', 'missing.mp4', 'a.mp4', 'b.mp4', 'a.mp4']);
  });

  it('refuses a path that leaves the storage like every storage path', async () => {
    const cache = new VideoProbeCache(root);
    const { calls, probe } = countingProbe();
    await expect(cache.probe('../etc/passwd', probe)).resolves.toBeDefined();
    // Outside the storage there is no identity, so nothing is cached; the decoder (which checks paths) answers.
    await cache.probe('../etc/passwd', probe);
    expect(calls).toEqual(['../etc/passwd', '../etc/passwd']);
  });
});
