import type { CompositorClient } from '@vanelia/proto';
import { afterEach, describe, expect, it } from 'vitest';
import type { StageReplicas } from '../src/replicas/stage-replicas';
import { FakeCompositor, replicasOf } from './helpers/fake-compositor';

const fakes: FakeCompositor[] = [];
const sets: Array<StageReplicas<CompositorClient>> = [];
afterEach(() => {
  for (const s of sets.splice(0)) s.close();
  for (const f of fakes.splice(0)) f.kill();
});

async function start(n: number): Promise<FakeCompositor[]> {
  const out = await Promise.all(Array.from({ length: n }, () => FakeCompositor.start()));
  fakes.push(...out);
  return out;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('stage replicas', () => {
  it('follows each replica\'s health, and lets a draining replica finish its drain at once', async () => {
    const [a, b] = await start(2);
    const replicas = replicasOf(a, b);
    sets.push(replicas);
    await until(() => replicas.list().every((r) => r.serving));
    a.drain();
    await until(() => replicas.list().find((r) => r.address === a.address)?.serving === false);
    // The health watch was let go: the drain does not wait for the gateway's stream.
    const started = Date.now();
    await new Promise<void>((resolve) => a.server.tryShutdown(() => resolve()));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(replicas.tryPick()?.address).toBe(b.address);
  });

  it('sees a replica serve again after it was down', async () => {
    const [a] = await start(1);
    const replicas = replicasOf(a);
    sets.push(replicas);
    await until(() => replicas.list()[0].serving);
    a.health.setStatus('', 'NOT_SERVING');
    await until(() => !replicas.list()[0].serving);
    a.health.setStatus('', 'SERVING');
    await until(() => replicas.list()[0].serving, 3000);
  });

  it('picks the least busy serving replica, and one whose call failed only when no other serves', async () => {
    const [a, b] = await start(2);
    const replicas = replicasOf(a, b);
    sets.push(replicas);
    await until(() => replicas.list().every((r) => r.serving));
    const [ra, rb] = [replicas.list().find((r) => r.address === a.address)!, replicas.list().find((r) => r.address === b.address)!];
    const release = replicas.acquire(ra);
    expect(replicas.tryPick()?.address).toBe(b.address);
    release();
    replicas.markFailed(rb);
    // b failed a moment ago: a is chosen even when it is busy, or when the caller has no room left on it.
    replicas.acquire(ra);
    expect(replicas.tryPick()?.address).toBe(a.address);
    expect(replicas.tryPick(new Set([a.address]))).toBeUndefined();
    // With a gone, b is all there is.
    a.drain();
    await until(() => !ra.serving);
    expect(replicas.tryPick()?.address).toBe(b.address);
  });
});
