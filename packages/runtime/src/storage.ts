import { isAbsolute, relative, resolve, sep } from 'node:path';
import { VaneliaError, type StageName } from './errors';

/**
 * Resolves a path on the mesh's shared storage (relative to `storageRoot`, or absolute inside it) and
 * refuses anything that would escape the root, so a request can never read or write elsewhere.
 */
export function resolveStoragePath(stage: StageName, storageRoot: string, path: string): string {
  if (path === '' || path.includes('\0')) {
    throw new VaneliaError(stage, 'INVALID_PATH', `storage path ${JSON.stringify(path)} is empty or malformed.`);
  }
  const root = resolve(storageRoot);
  const stripped = path.startsWith('file://') ? new URL(path).pathname : path;
  const full = isAbsolute(stripped) ? resolve(stripped) : resolve(root, stripped);
  const rel = relative(root, full);
  if (rel === '' || rel.startsWith('..' + sep) || rel === '..' || isAbsolute(rel)) {
    throw new VaneliaError(stage, 'INVALID_PATH', `storage path ${JSON.stringify(path)} is outside the storage root.`, {
      code: 'PERMISSION_DENIED',
    });
  }
  return full;
}

/** The storage-relative form of an absolute path inside the root. */
export function storageRelative(storageRoot: string, fullPath: string): string {
  return relative(resolve(storageRoot), fullPath);
}
