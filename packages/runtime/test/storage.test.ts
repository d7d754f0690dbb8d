import { describe, expect, it } from 'vitest';
import { resolveStoragePath } from '../src/storage';

describe('resolveStoragePath', () => {
  it('resolves relative and absolute paths inside the root', () => {
    expect(resolveStoragePath('decoder', '/data', 'jobs/a/in.mp4')).toBe('/data/jobs/a/in.mp4');
    expect(resolveStoragePath('decoder', '/data', '/data/x.mp4')).toBe('/data/x.mp4');
    expect(resolveStoragePath('decoder', '/data', 'file:///data/y.mp4')).toBe('/data/y.mp4');
  });

  it('refuses paths that escape the root', () => {
    for (const bad of ['../etc/passwd', '/etc/passwd', 'jobs/../../x', '/data', '']) {
      expect(() => resolveStoragePath('decoder', '/data', bad)).toThrow(/^decoder: storage path/);
    }
  });
});
