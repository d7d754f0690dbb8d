import { JobState, type Job } from '@vanelia/proto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { specFromArgs } from '@vanelia/cli';
import { newJob } from '../src/job-progress';
import type { JobCheckpoint, JobStore } from '../src/job-store';
import { RedisJobStore } from '../src/redis-job-store';
import { SqliteJobStore } from '../src/sqlite-job-store';
import { startRedisServer, type RedisServer } from './helpers/redis-server';

let dir: string;
let redis: RedisServer;
let prefixCounter = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vanelia-store-'));
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

const job = (id: string, createdMs: number, key = ''): Job => newJob(id, { ...specFromArgs({}), idempotencyKey: key }, createdMs);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const checkpoint: JobCheckpoint = { segmentFrames: 16, batchSize: 8, trackPath: '', segments: [{ index: 0, firstFrame: 0, frameCount: 16, path: 'jobs/a/segments/000000.a1.mp4', sizeBytes: 1234 }], framesComplete: false };

const stores: Array<[string, () => JobStore]> = [
  ['SQLite', () => new SqliteJobStore(join(dir, `jobs-${++prefixCounter}.sqlite`))],
  ['Redis', () => new RedisJobStore(redis.url, { keyPrefix: `test${++prefixCounter}:` })],
];

describe.each(stores)('%s job store', (_name, makeStore) => {
  it('keeps jobs, lists them newest first by state, and honours idempotency keys', async () => {
    const store = makeStore();
    try {
      expect((await store.create(job('a', 1000, 'key-1'))).created).toBe(true);
      expect((await store.create(job('b', 2000))).created).toBe(true);
      const again = await store.create(job('c', 3000, 'key-1'));
      expect(again).toMatchObject({ created: false, job: { id: 'a' } });
      expect((await store.findByIdempotencyKey('key-1'))?.id).toBe('a');
      expect(await store.get('c')).toBeUndefined();
      const all = await store.list({ offset: 0, limit: 10 });
      expect(all.total).toBe(2);
      expect(all.jobs.map((j) => j.id)).toEqual(['b', 'a']);
      expect(all.jobs[0].spec?.refine?.prompt).toContain('natural lighting');
      expect((await store.list({ offset: 1, limit: 1 })).jobs.map((j) => j.id)).toEqual(['a']);
      expect(await store.countQueued()).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('hands each queued job to one runner, oldest first, and lets only the holder save it', async () => {
    const store = makeStore();
    try {
      await store.create(job('old', 1000));
      await store.create(job('new', 2000));
      const [first, second, third] = await Promise.all([store.claimNext('gw-1', 10_000), store.claimNext('gw-2', 10_000), store.claimNext('gw-3', 10_000)]);
      const claimed = [first, second, third].filter(Boolean).map((j) => j!.id).sort();
      expect(claimed).toEqual(['new', 'old']);
      expect(first?.state).toBe(JobState.JOB_STATE_RUNNING);
      const holder = first?.id === 'old' ? 'gw-1' : second?.id === 'old' ? 'gw-2' : 'gw-3';
      const running = (await store.get('old'))!;
      expect(await store.update({ ...running, stage: 'composite' }, 'someone-else', 10_000)).toBe(false);
      expect(await store.update({ ...running, stage: 'composite' }, holder, 10_000)).toBe(true);
      expect((await store.get('old'))?.stage).toBe('composite');
      expect(await store.putCheckpoint('old', checkpoint, 'someone-else')).toBe(false);
      expect(await store.putCheckpoint('old', checkpoint, holder)).toBe(true);
      expect(await store.getCheckpoint('old')).toEqual(checkpoint);
      expect(await store.finish({ ...running, state: JobState.JOB_STATE_SUCCEEDED }, holder)).toBe(true);
      expect((await store.get('old'))?.state).toBe(JobState.JOB_STATE_SUCCEEDED);
      expect((await store.list({ state: JobState.JOB_STATE_SUCCEEDED, offset: 0, limit: 10 })).jobs.map((j) => j.id)).toEqual(['old']);
      expect(await store.update(running, holder, 10_000)).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('re-queues a running job once its lease lapses, and keeps its checkpoint for the next runner', async () => {
    const store = makeStore();
    try {
      await store.create(job('j', 1000));
      const claimed = (await store.claimNext('dead-gateway', 300))!;
      await store.putCheckpoint('j', checkpoint, 'dead-gateway');
      expect(await store.requeueExpired()).toEqual([]);
      await sleep(450);
      expect(await store.requeueExpired()).toEqual(['j']);
      expect((await store.get('j'))?.state).toBe(JobState.JOB_STATE_QUEUED);
      // The dead runner's late writes are refused; the next runner continues from the checkpoint.
      expect(await store.update(claimed, 'dead-gateway', 300)).toBe(false);
      const next = await store.claimNext('gw-2', 10_000);
      expect(next?.id).toBe('j');
      expect((await store.getCheckpoint('j'))?.segments).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it('gives a released job back to the queue and tells idle runners', async () => {
    const store = makeStore();
    try {
      let woken = 0;
      const off = await store.onQueued(() => (woken += 1));
      await store.create(job('r', 1000));
      const claimed = (await store.claimNext('gw-1', 10_000))!;
      await store.release(claimed, 'gw-1');
      await sleep(100);
      expect((await store.get('r'))?.state).toBe(JobState.JOB_STATE_QUEUED);
      expect(woken).toBeGreaterThanOrEqual(2);
      expect((await store.claimNext('gw-2', 10_000))?.id).toBe('r');
      off();
    } finally {
      await store.close();
    }
  });

  it('cancels queued and running jobs; the runner then loses the job', async () => {
    const store = makeStore();
    try {
      await store.create(job('q', 1000));
      await store.create(job('r', 2000));
      const running = (await store.claimNext('gw-1', 10_000))!; // the oldest: q
      expect(running.id).toBe('q');
      const cancelledRunning = await store.cancel('q', 5000);
      const cancelledQueued = await store.cancel('r', 5000);
      expect(cancelledRunning?.state).toBe(JobState.JOB_STATE_CANCELLED);
      expect(cancelledQueued?.finishedUnixMs).toBe(5000);
      expect(await store.update(running, 'gw-1', 10_000)).toBe(false);
      expect(await store.claimNext('gw-2', 10_000)).toBeUndefined();
      expect((await store.cancel('q', 6000))?.finishedUnixMs).toBe(5000);
      expect(await store.cancel('nope', 6000)).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('publishes changes to subscribers of that job only, as snapshots', async () => {
    const store = makeStore();
    try {
      const seen: string[] = [];
      const off = await store.subscribe('p', (j) => seen.push(`${j.id}:${j.stage}`));
      const p = job('p', 1000);
      p.stage = 'decode';
      await store.publish(p);
      p.stage = 'encode';
      await store.publish(p);
      await store.publish({ ...job('other', 1000), stage: 'x' });
      await sleep(100);
      off();
      await store.publish(p);
      await sleep(50);
      expect(seen).toEqual(['p:decode', 'p:encode']);
    } finally {
      await store.close();
    }
  });
});

describe('SQLite job store', () => {
  it('survives the process: a reopened file has the jobs and checkpoints', async () => {
    const path = join(dir, 'reopen.sqlite');
    const first = new SqliteJobStore(path);
    await first.create(job('kept', 1000));
    await first.claimNext('gw', 10_000);
    await first.putCheckpoint('kept', checkpoint, 'gw');
    await first.close();
    const second = new SqliteJobStore(path);
    expect((await second.get('kept'))?.state).toBe(JobState.JOB_STATE_RUNNING);
    expect(await second.getCheckpoint('kept')).toEqual(checkpoint);
    await second.close();
  });
});
