import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths';

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
