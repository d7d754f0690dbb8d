import { Metadata, status } from '@grpc/grpc-js';
import type { CompositeRequest, CompositeResponse, CompositorClient, FrameBatch } from '@vanelia/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { dispatchBatches, type BatchDispatchOptions } from '../src/batch-dispatcher';
import type { StageReplicas } from '../src/replicas/stage-replicas';
import { FakeCompositor, replicasOf, tinyBatches } from './helpers/fake-compositor';

const started: FakeCompositor[] = [];
const replicaSets: Array<StageReplicas<CompositorClient>> = [];
afterEach(() => {
  for (const r of replicaSets.splice(0)) r.close();
  for (const f of started.splice(0)) f.kill();
});

async function fakes(...behaviours: Array<ConstructorParameters<typeof Object>[0]>): Promise<FakeCompositor[]> {
  const out = await Promise.all(behaviours.map((b) => FakeCompositor.start(b as never)));
  started.push(...out);
  return out;
}

function options(replicas: StageReplicas<CompositorClient>, over: Partial<BatchDispatchOptions<CompositorClient, FrameBatch, CompositeRequest, CompositeResponse>> = {}) {
  replicaSets.push(replicas);
  return {
    stage: 'composite' as const,
    replicas,
    open: (client: CompositorClient) => client.composite(new Metadata({ waitForReady: true }), { deadline: Date.now() + 60_000 }),
    first: { payload: { $case: 'config' as const, value: { jobId: 'job', productPath: '', track: undefined, productHeightM: 0, productYawDeg: 0, shadowOpacity: 0, maskDilatePx: 0, depth: [], lightFrames: [] } } },
    request: (batch: FrameBatch): CompositeRequest => ({ payload: { $case: 'batch', value: batch } }),
    batchIdOf: (batch: FrameBatch) => batch.batchId,
    answerIdOf: (answer: CompositeResponse) => answer.batchId,
    ...over,
  };
}

async function collect(gen: AsyncIterable<CompositeResponse>): Promise<CompositeResponse[]> {
  const out: CompositeResponse[] = [];
  for await (const answer of gen) out.push(answer);
  return out;
}

const ids = (count: number, perBatch = 2): string[] => Array.from({ length: count }, (_, b) => `job/${b * perBatch}-${b * perBatch + perBatch - 1}`);

describe('dispatchBatches', () => {
  it('spreads one job over two replicas and answers in input order', async () => {
    const [a, b] = await fakes({ delayMs: 20 }, { delayMs: 20 });
    const answers = await collect(dispatchBatches(tinyBatches('job', 20), options(replicasOf(a, b))));
    expect(answers.map((r) => r.batchId)).toEqual(ids(20));
    expect(answers[3].frames[1].composite?.data[0]).toBe(7);
    expect(a.seen.length).toBeGreaterThan(3);
    expect(b.seen.length).toBeGreaterThan(3);
    expect(a.seen.length + b.seen.length).toBe(20);
  });

  it('sends the batches of a replica that dies to the other one, with the same ids', async () => {
    const [a, b] = await fakes({ delayMs: 15 }, { delayMs: 15 });
    a.behaviour.onBatch = (_batch, self) => {
      if (self.seen.length === 4) self.kill();
    };
    const answers = await collect(dispatchBatches(tinyBatches('job', 16), options(replicasOf(a, b))));
    expect(answers.map((r) => r.batchId)).toEqual(ids(16));
    // Every batch the dead replica did not answer was answered by the other.
    expect(new Set([...a.seen, ...b.seen])).toEqual(new Set(ids(16)));
    expect(b.seen.length).toBeGreaterThan(8);
  });

  it('moves a batch whose answer misses its deadline to another replica', async () => {
    const [a, b] = await fakes({}, {});
    a.behaviour.onBatch = (batch) => (batch.batchId === 'job/4-5' ? 'hang' : undefined);
    const answers = await collect(dispatchBatches(tinyBatches('job', 8), options(replicasOf(a, b), { batchTimeoutMs: 300 })));
    expect(answers.map((r) => r.batchId)).toEqual(ids(8));
    expect(b.seen).toContain('job/4-5');
  });

  it('fails at once, with the stage\'s own sentence, on an error a retry cannot fix', async () => {
    const [a, b] = await fakes({}, {});
    const bad = (batch: FrameBatch): void => {
      if (batch.batchId === 'job/6-7') throw Object.assign(new Error('compositor: frame 6 is 2x2 but its camera is 4x4.'), { code: status.INVALID_ARGUMENT });
    };
    a.behaviour.onBatch = bad;
    b.behaviour.onBatch = bad;
    await expect(collect(dispatchBatches(tinyBatches('job', 10), options(replicasOf(a, b))))).rejects.toThrow(/frame 6 is 2x2 but its camera is 4x4/);
    expect(a.seen.filter((id) => id === 'job/6-7').length + b.seen.filter((id) => id === 'job/6-7').length).toBe(1);
  });

  it('gives up on a batch after maxAttempts failures with a retryable error', async () => {
    const [a] = await fakes({});
    a.behaviour.onBatch = (batch) => {
      if (batch.batchId === 'job/2-3') throw Object.assign(new Error('inpaint: out of device memory.'), { code: status.RESOURCE_EXHAUSTED });
    };
    await expect(collect(dispatchBatches(tinyBatches('job', 4), options(replicasOf(a), { maxAttempts: 3 })))).rejects.toThrow(/batch job\/2-3 failed 3 times/);
    expect(a.seen.filter((id) => id === 'job/2-3')).toHaveLength(3);
  });

  it('stops sending to a draining replica while another serves, and ends its call', async () => {
    const [a, b] = await fakes({ delayMs: 10 }, { delayMs: 10 });
    let drainedAt = -1;
    a.behaviour.onBatch = (_batch, self) => {
      if (self.seen.length === 3) {
        self.drain();
        drainedAt = a.seen.length;
      }
    };
    const answers = await collect(dispatchBatches(tinyBatches('job', 24), options(replicasOf(a, b))));
    expect(answers).toHaveLength(24);
    // What was already in flight on the draining replica is answered there; nothing new goes to it.
    expect(a.seen.length).toBeLessThanOrEqual(drainedAt + 2);
    expect(b.seen.length).toBeGreaterThanOrEqual(24 - drainedAt - 2);
  });

  it('keeps one job on its only replica while it drains (the drain finishes the job)', async () => {
    const [a] = await fakes({ delayMs: 5 });
    a.behaviour.onBatch = (_batch, self) => {
      if (self.seen.length === 2) self.drain();
    };
    const answers = await collect(dispatchBatches(tinyBatches('job', 10), options(replicasOf(a))));
    expect(answers).toHaveLength(10);
    expect(a.calls).toBe(1);
  });

  it('keeps the batches of a group on one call', async () => {
    const [a, b] = await fakes({ delayMs: 5 }, { delayMs: 5 });
    await collect(dispatchBatches(tinyBatches('job', 12), options(replicasOf(a, b), { groupSize: 3 })));
    for (const seen of [a.seen, b.seen]) {
      const starts = seen.map((id) => Number(id.split('/')[1].split('-')[0]) / 2);
      for (let i = 0; i < starts.length; i += 3) expect(starts.slice(i, i + 3)).toEqual([starts[i], starts[i] + 1, starts[i] + 2]);
    }
  });

  it('pulls input no further than its window ahead of the consumer (bounded memory)', async () => {
    const [a] = await fakes({});
    let pulled = 0;
    const gen = dispatchBatches(tinyBatches('job', 100, 2, (i) => (pulled = i + 1)), options(replicasOf(a), { inFlightPerStream: 2 }));
    let consumed = 0;
    let maxAhead = 0;
    for await (const _ of gen) {
      consumed += 1;
      await new Promise((r) => setTimeout(r, 2));
      maxAhead = Math.max(maxAhead, pulled - consumed);
    }
    expect(consumed).toBe(100);
    // One replica, one call, two in flight: window (1 + 1) * 2 = 4 items, plus the one being pulled.
    expect(maxAhead).toBeLessThanOrEqual(5);
  });

  it('stops when the job is cancelled, cancelling its calls', async () => {
    const [a] = await fakes({ delayMs: 50 });
    const ac = new AbortController();
    const gen = dispatchBatches(tinyBatches('job', 50), options(replicasOf(a), { signal: ac.signal }));
    let n = 0;
    await expect(
      (async () => {
        for await (const _ of gen) if (++n === 3) ac.abort();
      })(),
    ).rejects.toThrow(/cancelled/);
    expect(a.seen.length).toBeLessThan(10);
  });
});
