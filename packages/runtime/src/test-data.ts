import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (two levels above packages/runtime/src). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * The shared third-party test data beside the checkout (`../shared/data`), or `VANELIA_SHARED_DATA`.
 * Throws when it is missing, so tests that need it fail loudly instead of skipping.
 */
export function sharedDataDir(): string {
  const dir = process.env.VANELIA_SHARED_DATA ?? join(REPO_ROOT, '..', 'shared', 'data');
  if (!existsSync(dir)) {
    throw new Error(`test data: ${dir} is missing; set VANELIA_SHARED_DATA to the shared data folder`);
  }
  return dir;
}

/** A file inside the shared data folder, checked to exist. */
export function sharedDataFile(...parts: string[]): string {
  const file = join(sharedDataDir(), ...parts);
  if (!existsSync(file)) throw new Error(`test data: ${file} is missing`);
  return file;
}
