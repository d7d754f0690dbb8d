import Database from 'better-sqlite3';
import { Job, JobState } from '@vanelia/proto';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { asCancelled, asRequeued, isTerminal, parseCheckpoint, type JobCheckpoint, type JobListener, type JobStore, type ListQuery } from './job-store';

interface Row {
  id: string;
  state: number;
  job: Buffer;
  checkpoint: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  created_ms INTEGER NOT NULL,
  state INTEGER NOT NULL,
  owner TEXT NOT NULL DEFAULT '',
  lease_expires_ms INTEGER NOT NULL DEFAULT 0,
  idempotency_key TEXT UNIQUE,
  job BLOB NOT NULL,
  checkpoint TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, created_ms);
CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs (created_ms);
`;

const RUNNING = JobState.JOB_STATE_RUNNING;
const QUEUED = JobState.JOB_STATE_QUEUED;

/**
 * The embedded job store: one SQLite file on local disk (WAL: a killed gateway loses nothing it wrote).
 * For one gateway replica; several share a Redis store instead. Leases use this machine's clock, which is
 * enough while a rolling update briefly runs two gateways on the same file.
 */
export class SqliteJobStore implements JobStore {
  private readonly db: Database.Database;
  private readonly events = new EventEmitter();

  constructor(path: string, private readonly now: () => number = Date.now) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { timeout: 5000 });
    this.db.pragma('journal_mode = WAL');
    // WAL with NORMAL sync survives a killed process (what matters here) without an fsync per progress write.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.events.setMaxListeners(0);
  }

  private decode(row: Row | undefined): Job | undefined {
    if (!row) return undefined;
    return { ...Job.decode(row.job), state: row.state as JobState };
  }

  private row(id: string): Row | undefined {
    return this.db.prepare('SELECT id, state, job, checkpoint FROM jobs WHERE id = ?').get(id) as Row | undefined;
  }

  async create(job: Job): Promise<{ job: Job; created: boolean }> {
    const key = job.spec?.idempotencyKey || null;
    return this.db.transaction(() => {
      if (key) {
        const existing = this.db.prepare('SELECT id, state, job, checkpoint FROM jobs WHERE idempotency_key = ?').get(key) as Row | undefined;
        if (existing) return { job: this.decode(existing)!, created: false };
      }
      this.db
        .prepare('INSERT INTO jobs (id, created_ms, state, idempotency_key, job) VALUES (?, ?, ?, ?, ?)')
        .run(job.id, job.createdUnixMs, QUEUED, key, Buffer.from(Job.encode({ ...job, state: QUEUED }).finish()));
      queueMicrotask(() => this.events.emit('queued'));
      return { job: { ...job, state: QUEUED }, created: true };
    })();
  }

  async get(id: string): Promise<Job | undefined> {
    return this.decode(this.row(id));
  }

  async findByIdempotencyKey(key: string): Promise<Job | undefined> {
    return this.decode(this.db.prepare('SELECT id, state, job, checkpoint FROM jobs WHERE idempotency_key = ?').get(key) as Row | undefined);
  }

  async list(query: ListQuery): Promise<{ jobs: Job[]; total: number }> {
    const filtered = query.state ? 'WHERE state = ?' : '';
    const params = query.state ? [query.state] : [];
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM jobs ${filtered}`).get(...params) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT id, state, job, checkpoint FROM jobs ${filtered} ORDER BY created_ms DESC, id DESC LIMIT ? OFFSET ?`)
      .all(...params, query.limit, query.offset) as Row[];
    return { jobs: rows.map((r) => this.decode(r)!), total };
  }

  async countQueued(): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM jobs WHERE state = ?').get(QUEUED) as { n: number }).n;
  }

  async claimNext(owner: string, leaseMs: number): Promise<Job | undefined> {
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT id, state, job, checkpoint FROM jobs WHERE state = ? ORDER BY created_ms, id LIMIT 1').get(QUEUED) as Row | undefined;
      if (!row) return undefined;
      const job = { ...this.decode(row)!, state: RUNNING };
      this.db
        .prepare('UPDATE jobs SET state = ?, owner = ?, lease_expires_ms = ?, job = ? WHERE id = ?')
        .run(RUNNING, owner, this.now() + leaseMs, Buffer.from(Job.encode(job).finish()), row.id);
      return job;
    })();
  }

  async update(job: Job, owner: string, leaseMs: number): Promise<boolean> {
    const result = this.db
      .prepare('UPDATE jobs SET job = ?, lease_expires_ms = ? WHERE id = ? AND state = ? AND owner = ?')
      .run(Buffer.from(Job.encode({ ...job, state: RUNNING }).finish()), this.now() + leaseMs, job.id, RUNNING, owner);
    return result.changes === 1;
  }

  async finish(job: Job, owner: string): Promise<boolean> {
    const result = this.db
      .prepare("UPDATE jobs SET job = ?, state = ?, owner = '', lease_expires_ms = 0 WHERE id = ? AND state = ? AND owner = ?")
      .run(Buffer.from(Job.encode(job).finish()), job.state, job.id, RUNNING, owner);
    return result.changes === 1;
  }

  async release(job: Job, owner: string): Promise<void> {
    const queued = asRequeued(job, this.now());
    const result = this.db
      .prepare("UPDATE jobs SET job = ?, state = ?, owner = '', lease_expires_ms = 0 WHERE id = ? AND state = ? AND owner = ?")
      .run(Buffer.from(Job.encode(queued).finish()), QUEUED, job.id, RUNNING, owner);
    if (result.changes === 1) this.events.emit('queued');
  }

  async cancel(id: string, nowMs: number): Promise<Job | undefined> {
    return this.db.transaction(() => {
      const job = this.decode(this.row(id));
      if (!job || isTerminal(job.state)) return job;
      const cancelled = asCancelled(job, nowMs);
      this.db
        .prepare("UPDATE jobs SET job = ?, state = ?, owner = '', lease_expires_ms = 0 WHERE id = ?")
        .run(Buffer.from(Job.encode(cancelled).finish()), cancelled.state, id);
      return cancelled;
    })();
  }

  async requeueExpired(): Promise<string[]> {
    const ids = this.db.transaction(() => {
      const rows = this.db.prepare('SELECT id, state, job, checkpoint FROM jobs WHERE state = ? AND lease_expires_ms < ?').all(RUNNING, this.now()) as Row[];
      for (const row of rows) {
        const job = asRequeued(this.decode(row)!, this.now());
        this.db.prepare("UPDATE jobs SET job = ?, state = ?, owner = '', lease_expires_ms = 0 WHERE id = ?").run(Buffer.from(Job.encode(job).finish()), QUEUED, row.id);
      }
      return rows.map((r) => r.id);
    })();
    if (ids.length > 0) this.events.emit('queued');
    return ids;
  }

  async getCheckpoint(id: string): Promise<JobCheckpoint | undefined> {
    return parseCheckpoint(this.row(id)?.checkpoint);
  }

  async putCheckpoint(id: string, checkpoint: JobCheckpoint, owner: string): Promise<boolean> {
    const result = this.db.prepare('UPDATE jobs SET checkpoint = ? WHERE id = ? AND state = ? AND owner = ?').run(JSON.stringify(checkpoint), id, RUNNING, owner);
    return result.changes === 1;
  }

  async publish(job: Job): Promise<void> {
    // A snapshot: the runner goes on changing its object after publishing it.
    this.events.emit(`job:${job.id}`, Job.decode(Job.encode(job).finish()));
  }

  async subscribe(id: string, listener: JobListener): Promise<() => void> {
    this.events.on(`job:${id}`, listener);
    return () => this.events.off(`job:${id}`, listener);
  }

  async onQueued(listener: () => void): Promise<() => void> {
    this.events.on('queued', listener);
    return () => this.events.off('queued', listener);
  }

  async close(): Promise<void> {
    this.events.removeAllListeners();
    if (this.db.open) this.db.close();
  }
}
