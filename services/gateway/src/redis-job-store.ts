import { Job, JobState } from '@vanelia/proto';
import { Redis } from 'ioredis';
import { asCancelled, isTerminal, parseCheckpoint, type JobCheckpoint, type JobListener, type JobStore, type ListQuery } from './job-store';

/**
 * Layout under the key prefix (default "vanelia:"): `job:<id>` a hash (pb = the Job message, state, owner,
 * created, checkpoint), `lease:<id>` the runner's lease (expires by Redis' clock), `jobs` and `state:<n>`
 * sorted sets by creation time, `running` the set of leased jobs, `idem:<key>` idempotency keys. Every
 * state change runs in one Lua script, so gateways sharing the store never both take a job. Changes are
 * published on `events:<id>`, new work on `queued`. For a standalone Redis (or Sentinel), not Cluster.
 */
const SET_STATE = `
local function setState(p, id, new)
  local key = p .. 'job:' .. id
  local old = redis.call('HGET', key, 'state')
  if old then redis.call('ZREM', p .. 'state:' .. old, id) end
  redis.call('ZADD', p .. 'state:' .. new, redis.call('HGET', key, 'created'), id)
  redis.call('HSET', key, 'state', new)
end
local function holds(p, id, owner)
  local key = p .. 'job:' .. id
  return redis.call('HGET', key, 'state') == '2' and redis.call('HGET', key, 'owner') == owner
end
local p = ARGV[1]
`;

const SCRIPTS = {
  vaneliaCreate: `${SET_STATE}
local id, pb, created, idem = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if idem ~= '' then
  local existing = redis.call('GET', p .. 'idem:' .. idem)
  if existing then return existing end
  redis.call('SET', p .. 'idem:' .. idem, id)
end
redis.call('HSET', p .. 'job:' .. id, 'pb', pb, 'created', created, 'owner', '')
redis.call('ZADD', p .. 'jobs', created, id)
setState(p, id, 1)
redis.call('PUBLISH', p .. 'queued', id)
return id`,
  vaneliaClaim: `${SET_STATE}
local owner, leaseMs = ARGV[2], ARGV[3]
local ids = redis.call('ZRANGE', p .. 'state:1', 0, 0)
if #ids == 0 then return false end
local id = ids[1]
setState(p, id, 2)
redis.call('HSET', p .. 'job:' .. id, 'owner', owner)
redis.call('SET', p .. 'lease:' .. id, owner, 'PX', leaseMs)
redis.call('SADD', p .. 'running', id)
return id`,
  vaneliaUpdate: `${SET_STATE}
local id, owner, leaseMs, pb = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if not holds(p, id, owner) then return 0 end
redis.call('HSET', p .. 'job:' .. id, 'pb', pb)
redis.call('SET', p .. 'lease:' .. id, owner, 'PX', leaseMs)
return 1`,
  vaneliaFinish: `${SET_STATE}
local id, owner, pb, state, requeue = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if not holds(p, id, owner) then return 0 end
redis.call('HSET', p .. 'job:' .. id, 'pb', pb, 'owner', '')
setState(p, id, state)
redis.call('DEL', p .. 'lease:' .. id)
redis.call('SREM', p .. 'running', id)
if requeue == '1' then redis.call('PUBLISH', p .. 'queued', id) end
return 1`,
  vaneliaCancel: `${SET_STATE}
local id, expected, pb = ARGV[2], ARGV[3], ARGV[4]
if redis.call('HGET', p .. 'job:' .. id, 'state') ~= expected then return 0 end
redis.call('HSET', p .. 'job:' .. id, 'pb', pb, 'owner', '')
setState(p, id, 5)
redis.call('DEL', p .. 'lease:' .. id)
redis.call('SREM', p .. 'running', id)
return 1`,
  vaneliaRequeue: `${SET_STATE}
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', p .. 'running')) do
  if redis.call('EXISTS', p .. 'lease:' .. id) == 0 then
    redis.call('SREM', p .. 'running', id)
    if redis.call('HGET', p .. 'job:' .. id, 'state') == '2' then
      redis.call('HSET', p .. 'job:' .. id, 'owner', '')
      setState(p, id, 1)
      table.insert(out, id)
    end
  end
end
if #out > 0 then redis.call('PUBLISH', p .. 'queued', out[1]) end
return out`,
  vaneliaCheckpoint: `${SET_STATE}
local id, owner, checkpoint = ARGV[2], ARGV[3], ARGV[4]
if not holds(p, id, owner) then return 0 end
redis.call('HSET', p .. 'job:' .. id, 'checkpoint', checkpoint)
return 1`,
} as const;

type ScriptName = keyof typeof SCRIPTS;

export interface RedisJobStoreOptions {
  /** Prefix of every key and channel. */
  keyPrefix?: string;
}

/** The shared job store for several gateway replicas. */
export class RedisJobStore implements JobStore {
  private readonly redis: Redis;
  private subscriber: Redis | undefined;
  private readonly listeners = new Map<string, Set<(message: Buffer) => void>>();
  private readonly prefix: string;

  constructor(url: string, options: RedisJobStoreOptions = {}) {
    this.prefix = options.keyPrefix ?? 'vanelia:';
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 5 });
    for (const [name, lua] of Object.entries(SCRIPTS)) this.redis.defineCommand(name, { numberOfKeys: 0, lua });
  }

  private script(name: ScriptName, ...args: Array<string | number | Buffer>): Promise<unknown> {
    const command = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name];
    return command.call(this.redis, this.prefix, ...args);
  }

  private encode(job: Job): Buffer {
    return Buffer.from(Job.encode(job).finish());
  }

  async create(job: Job): Promise<{ job: Job; created: boolean }> {
    const queued = { ...job, state: JobState.JOB_STATE_QUEUED };
    const id = String(await this.script('vaneliaCreate', job.id, this.encode(queued), job.createdUnixMs, job.spec?.idempotencyKey ?? ''));
    if (id === job.id) return { job: queued, created: true };
    const existing = await this.get(id);
    if (!existing) throw new Error(`redis job store: idempotency key points at missing job ${id}`);
    return { job: existing, created: false };
  }

  async get(id: string): Promise<Job | undefined> {
    const [pb, state] = await this.redis.hmgetBuffer(`${this.prefix}job:${id}`, 'pb', 'state');
    if (!pb || !state) return undefined;
    return { ...Job.decode(pb), state: Number(state.toString()) as JobState };
  }

  async findByIdempotencyKey(key: string): Promise<Job | undefined> {
    const id = await this.redis.get(`${this.prefix}idem:${key}`);
    return id ? this.get(id) : undefined;
  }

  async list(query: ListQuery): Promise<{ jobs: Job[]; total: number }> {
    const set = query.state ? `${this.prefix}state:${query.state}` : `${this.prefix}jobs`;
    const [total, ids] = await Promise.all([this.redis.zcard(set), this.redis.zrevrange(set, query.offset, query.offset + query.limit - 1)]);
    const jobs = (await Promise.all(ids.map((id) => this.get(id)))).filter((j): j is Job => j !== undefined);
    return { jobs, total };
  }

  countQueued(): Promise<number> {
    return this.redis.zcard(`${this.prefix}state:${JobState.JOB_STATE_QUEUED}`);
  }

  async claimNext(owner: string, leaseMs: number): Promise<Job | undefined> {
    const id = await this.script('vaneliaClaim', owner, leaseMs);
    if (!id) return undefined;
    const job = await this.get(String(id));
    return job ? { ...job, state: JobState.JOB_STATE_RUNNING } : undefined;
  }

  async update(job: Job, owner: string, leaseMs: number): Promise<boolean> {
    return (await this.script('vaneliaUpdate', job.id, owner, leaseMs, this.encode({ ...job, state: JobState.JOB_STATE_RUNNING }))) === 1;
  }

  async finish(job: Job, owner: string): Promise<boolean> {
    return (await this.script('vaneliaFinish', job.id, owner, this.encode(job), job.state, '0')) === 1;
  }

  async release(job: Job, owner: string): Promise<void> {
    const queued = { ...job, state: JobState.JOB_STATE_QUEUED, stage: 'queued', updatedUnixMs: Date.now() };
    await this.script('vaneliaFinish', job.id, owner, this.encode(queued), JobState.JOB_STATE_QUEUED, '1');
  }

  async cancel(id: string, nowMs: number): Promise<Job | undefined> {
    // Compare-and-set on the state: retried when the runner changed it between the read and the write.
    for (let attempt = 0; attempt < 10; attempt++) {
      const job = await this.get(id);
      if (!job || isTerminal(job.state)) return job;
      const cancelled = asCancelled(job, nowMs);
      if ((await this.script('vaneliaCancel', id, String(job.state), this.encode(cancelled))) === 1) return cancelled;
    }
    throw new Error(`redis job store: job ${id} kept changing while being cancelled`);
  }

  async requeueExpired(): Promise<string[]> {
    return ((await this.script('vaneliaRequeue')) as string[]).map(String);
  }

  async getCheckpoint(id: string): Promise<JobCheckpoint | undefined> {
    return parseCheckpoint(await this.redis.hget(`${this.prefix}job:${id}`, 'checkpoint'));
  }

  async putCheckpoint(id: string, checkpoint: JobCheckpoint, owner: string): Promise<boolean> {
    return (await this.script('vaneliaCheckpoint', id, owner, JSON.stringify(checkpoint))) === 1;
  }

  async publish(job: Job): Promise<void> {
    await this.redis.publish(`${this.prefix}events:${job.id}`, this.encode(job));
  }

  private async listen(channel: string, listener: (message: Buffer) => void): Promise<() => void> {
    if (!this.subscriber) {
      this.subscriber = this.redis.duplicate();
      this.subscriber.on('messageBuffer', (ch: Buffer, message: Buffer) => {
        for (const l of this.listeners.get(ch.toString()) ?? []) l(message);
      });
    }
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await this.subscriber.subscribe(channel);
    }
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (set!.size === 0 && this.listeners.get(channel) === set) {
        this.listeners.delete(channel);
        void this.subscriber?.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  subscribe(id: string, listener: JobListener): Promise<() => void> {
    return this.listen(`${this.prefix}events:${id}`, (message) => listener(Job.decode(message)));
  }

  onQueued(listener: () => void): Promise<() => void> {
    return this.listen(`${this.prefix}queued`, () => listener());
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.subscriber?.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
