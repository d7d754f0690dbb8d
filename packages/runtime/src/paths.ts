import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (two levels above packages/runtime/src); images set VANELIA_ROOT. */
export const REPO_ROOT = process.env.VANELIA_ROOT ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
