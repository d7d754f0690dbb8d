import { VaneliaError } from '@vanelia/runtime';
import { isAbsolute, join } from 'node:path';
import type { JobStore } from './job-store';
import { RedisJobStore } from './redis-job-store';
import { SqliteJobStore } from './sqlite-job-store';

/** Where the default embedded store lives under the storage root. */
export const DEFAULT_SQLITE_PATH = join('gateway', 'jobs.sqlite');

/**
 * The job store a URL names: "" (SQLite under the storage root), "sqlite:///abs/path.sqlite" (one gateway
 * replica), or "redis://[:password@]host:port[/db]" / "rediss://…" (shared by several replicas).
 */
export function createJobStore(url: string, storageRoot: string): JobStore {
  if (url === '') return new SqliteJobStore(join(storageRoot, DEFAULT_SQLITE_PATH));
  if (url.startsWith('sqlite://')) {
    const path = url.slice('sqlite://'.length);
    return new SqliteJobStore(isAbsolute(path) ? path : join(storageRoot, path));
  }
  if (url.startsWith('redis://') || url.startsWith('rediss://')) return new RedisJobStore(url);
  throw new VaneliaError('gateway', 'INVALID_CONFIG', `VANELIA_JOB_STORE=${JSON.stringify(url)} is not sqlite://PATH or redis://HOST:PORT.`, {
    code: 'FAILED_PRECONDITION',
  });
}
