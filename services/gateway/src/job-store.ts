import { Job } from '@vanelia/proto';
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Where jobs are kept so that nothing a user submitted is lost on a restart. */
export interface JobStore {
  put(job: Job): Promise<void>;
  get(id: string): Promise<Job | undefined>;
  /** Every job, newest first. */
  list(): Promise<Job[]>;
  findByIdempotencyKey(key: string): Promise<Job | undefined>;
  close(): Promise<void>;
}

/**
 * One JSON file a job under `<dir>/<id>/job.json`, written atomically (temp file + rename): the
 * embedded default for a single gateway on local disk.
 */
export class FileJobStore implements JobStore {
  constructor(private readonly dir: string) {}

  async put(job: Job): Promise<void> {
    const folder = join(this.dir, job.id);
    await mkdir(folder, { recursive: true });
    const tmp = join(folder, `job.json.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(Job.toJSON(job)));
    await rename(tmp, join(folder, 'job.json'));
  }

  async get(id: string): Promise<Job | undefined> {
    if (!/^[A-Za-z0-9_-]+$/.test(id)) return undefined;
    try {
      return Job.fromJSON(JSON.parse(await readFile(join(this.dir, id, 'job.json'), 'utf8')));
    } catch {
      return undefined;
    }
  }

  async list(): Promise<Job[]> {
    let names: string[] = [];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const jobs = (await Promise.all(names.map((n) => this.get(n)))).filter((j): j is Job => j !== undefined);
    return jobs.sort((a, b) => b.createdUnixMs - a.createdUnixMs || b.id.localeCompare(a.id));
  }

  async findByIdempotencyKey(key: string): Promise<Job | undefined> {
    return (await this.list()).find((j) => j.spec?.idempotencyKey === key);
  }

  async close(): Promise<void> {}
}
