import { Server, ServerCredentials, status, type ServerDuplexStream, type ServerReadableStream, type ServerWritableStream } from '@grpc/grpc-js';
import {
  CompositeConfig,
  CompositorClient,
  CompositorService,
  DecoderClient,
  DecoderService,
  EncodeConfig,
  type CompositeRequest,
  type CompositeResponse,
  type DecodeRequest,
  type DecodeResponse,
  type EncodeRequest,
  type EncodeResponse,
  type Frame,
} from '@vanelia/proto';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMeshClient } from '../src/client';
import { baseServiceSchema, loadConfig } from '../src/config';
import { FrameMemory } from '../src/frame-memory';
import { isLazyFrame, readFrameInto, releaseFrames, retainFrames } from '../src/frame-lease';
import { fastDefinitionFor } from '../src/frame-wire';
import { frameBatch, rgbFrame } from '../src/frames';
import { meshChannelOptions } from '../src/grpc-options';
import { silentLogger } from '../src/logger';
import { registry } from '../src/metrics';
import { clientStreamHandler, streamHandler, writeMessage } from '../src/rpc';
import { startService, type RunningService } from '../src/service';

const W = 64;
const H = 32;
const pixels = (index: number): Buffer => Buffer.from(Array.from({ length: W * H * 3 }, (_, i) => (i * 13 + index * 7) & 255));
const digest = (frames: Frame[]): string => createHash('sha256').update(Buffer.concat(frames.map((f) => f.data))).digest('hex');
const ctx = { stage: 'decoder' as const, logger: silentLogger };

/** A decoder stand-in: Decode streams `batchSize` batches of one synthetic frame; Encode answers a digest of what it got. */
function decoderImplementation(onBatchSent?: (n: number) => void) {
  return {
    probe: () => undefined,
    decode: streamHandler(ctx, 'Decode', async (call: ServerWritableStream<DecodeRequest, DecodeResponse>) => {
      for (let i = 0; i < call.request.batchSize; i++) {
        await writeMessage(call, { payload: { $case: 'batch', value: frameBatch('job', [rgbFrame(i, W, H, pixels(i))]) } });
        onBatchSent?.(i + 1);
      }
    }),
    encode: clientStreamHandler(ctx, 'Encode', async (call: ServerReadableStream<EncodeRequest, EncodeResponse>) => {
      const frames: Frame[] = [];
      for await (const message of call) if (message.payload?.$case === 'batch') frames.push(...message.payload.value.frames);
      return { outputPath: digest(frames), frameCount: frames.length, sizeBytes: 0, audioCopied: false };
    }),
  };
}

/** A compositor stand-in: answers every batch with its frames inverted (job "pass": the frames as they came). */
const compositorImplementation = {
  composite: streamHandler({ stage: 'compositor', logger: silentLogger }, 'Composite', async (call: ServerDuplexStream<CompositeRequest, CompositeResponse>) => {
    let pass = false;
    for await (const request of call) {
      if (request.payload?.$case === 'config') pass = request.payload.value.jobId === 'pass';
      if (request.payload?.$case !== 'batch') continue;
      const batch = request.payload.value;
      const invert = (f: Frame): Frame => (pass ? f : { ...f, data: Buffer.from(f.data.map((v: number) => 255 - v)) });
      const frames = batch.frames.map((f: Frame) => ({ composite: invert(f), inpaintMask: undefined, region: undefined }));
      await writeMessage(call, { jobId: batch.jobId, batchId: batch.batchId, frames, warnings: [] });
    }
  }),
};

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function newMemory(options = {}): FrameMemory {
  const dir = mkdtempSync(join(tmpdir(), 'vanelia-frame-transport-'));
  const memory = new FrameMemory(dir, options);
  cleanups.push(() => {
    memory.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return memory;
}

async function decoderServer(memory: FrameMemory | null, onBatchSent?: (n: number) => void): Promise<RunningService> {
  const config = loadConfig('decoder', baseServiceSchema('decoder'), { VANELIA_PORT: '0', VANELIA_METRICS_PORT: '0', VANELIA_HOST: '127.0.0.1' });
  const service = await startService({
    name: 'decoder',
    config,
    logger: silentLogger,
    handleSignals: false,
    frameMemory: memory,
    services: [
      { fullName: 'vanelia.v1.Decoder', definition: DecoderService, implementation: decoderImplementation(onBatchSent) },
      { fullName: 'vanelia.v1.Compositor', definition: CompositorService, implementation: compositorImplementation },
    ],
  });
  cleanups.push(() => service.stop(1000));
  return service;
}

function clientOf<C extends DecoderClient | CompositorClient>(Ctor: new (...args: any[]) => C, port: number, memory: FrameMemory | null, negotiationTimeoutMs?: number): C {
  const client = createMeshClient(Ctor as any, `127.0.0.1:${port}`, undefined, { frameMemory: memory, negotiationTimeoutMs }) as C;
  cleanups.push(() => client.close());
  return client;
}

async function frameBytesSent(): Promise<{ memory: number; inline: number }> {
  const values = (await registry.getSingleMetric('vanelia_frame_bytes_total')!.get()).values;
  const of = (transport: string): number => values.filter((v) => v.labels.transport === transport).reduce((n, v) => n + v.value, 0);
  return { memory: of('memory'), inline: of('inline') };
}

async function decodeAll(client: DecoderClient, batches: number, onEach?: () => Promise<void>, readAhead?: number): Promise<Frame[]> {
  const frames: Frame[] = [];
  const call = client.decode({ jobId: 'job', sourcePath: 'x', batchSize: batches, startFrame: 0, endFrame: 0, format: 1 });
  const state = (call as unknown as { _readableState?: { highWaterMark: number } })._readableState;
  if (readAhead !== undefined && state) state.highWaterMark = readAhead;
  for await (const message of call as AsyncIterable<DecodeResponse>) {
    if (message.payload?.$case === 'batch') frames.push(...message.payload.value.frames);
    await onEach?.();
  }
  return frames;
}

function encodeAll(client: DecoderClient, frames: Frame[]): Promise<EncodeResponse> {
  return new Promise((resolve, reject) => {
    const call = client.encode((error, response) => (error ? reject(error) : resolve(response!)));
    call.write({ payload: { $case: 'config', value: EncodeConfig.fromPartial({ jobId: 'job' }) } });
    for (const frame of frames) call.write({ payload: { $case: 'batch', value: frameBatch('job', [frame]) } });
    call.end();
  });
}

const expected = (n: number): Frame[] => Array.from({ length: n }, (_, i) => rgbFrame(i, W, H, pixels(i)));
/** Frame files written and not read yet (handed-back `.free` files are not counted). */
const filesLeft = (memory: FrameMemory): number =>
  readdirSync(join(memory.dir, 'frames')).reduce((n, d) => n + readdirSync(join(memory.dir, 'frames', d)).filter((f) => !f.endsWith('.free')).length, 0);

describe('frame transport between processes', () => {
  it('moves frames through the shared folder when both sides share it, in every call shape', async () => {
    const memory = newMemory();
    const server = await decoderServer(memory);
    const client = clientOf(DecoderClient, server.port, memory);
    const before = await frameBytesSent();

    const decoded = await decodeAll(client, 5);
    expect(digest(decoded)).toBe(digest(expected(5)));
    expect(decoded.every((f) => f.memoryRef === undefined)).toBe(true);
    const encoded = await encodeAll(client, expected(4));
    expect(encoded).toMatchObject({ frameCount: 4, outputPath: digest(expected(4)) });

    const compositor = clientOf(CompositorClient, server.port, memory);
    const call = compositor.composite();
    const answers: CompositeResponse[] = [];
    call.on('data', (answer: CompositeResponse) => answers.push(answer));
    const ended = new Promise((resolve, reject) => call.on('end', resolve).on('error', reject));
    call.write({ payload: { $case: 'config', value: CompositeConfig.fromPartial({ jobId: 'job' }) } });
    for (const frame of expected(3)) call.write({ payload: { $case: 'batch', value: frameBatch('job', [frame]) } });
    call.end();
    await ended;
    expect(answers.map((a) => a.frames[0].composite!.data[0])).toEqual(expected(3).map((f) => 255 - f.data[0]));

    const after = await frameBytesSent();
    const frameBytes = W * H * 3;
    expect(after.memory - before.memory).toBe((5 + 4 + 3 + 3) * frameBytes);
    expect(after.inline - before.inline).toBe(0);
    expect(filesLeft(memory)).toBe(0);
  });

  it('sends frames inline between two servers of different folders, or with a side that has none', async () => {
    const [a, b] = [newMemory(), newMemory()];
    expect(a.domain).not.toBe(b.domain);
    const server = await decoderServer(a);
    const offServer = await decoderServer(null);
    const before = await frameBytesSent();
    expect(digest(await decodeAll(clientOf(DecoderClient, server.port, b), 3))).toBe(digest(expected(3)));
    expect((await encodeAll(clientOf(DecoderClient, server.port, b), expected(2))).outputPath).toBe(digest(expected(2)));
    expect(digest(await decodeAll(clientOf(DecoderClient, server.port, null), 2))).toBe(digest(expected(2)));
    expect((await encodeAll(clientOf(DecoderClient, offServer.port, a), expected(2))).outputPath).toBe(digest(expected(2)));
    const after = await frameBytesSent();
    expect(after.memory - before.memory).toBe(0);
    expect(after.inline - before.inline).toBe((3 + 2 + 2 + 2) * W * H * 3);
    expect(filesLeft(a) + filesLeft(b)).toBe(0);
  });

  it('sends inline to a server that does not answer the offer (an older build)', async () => {
    const memory = newMemory();
    const server = new Server(meshChannelOptions());
    server.addService(fastDefinitionFor(DecoderService), decoderImplementation());
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    cleanups.push(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
    const before = await frameBytesSent();
    const started = performance.now();
    // Client streaming: such a server sends its headers only with the answer, so the client stops waiting.
    expect((await encodeAll(clientOf(DecoderClient, port, memory, 300), expected(2))).outputPath).toBe(digest(expected(2)));
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect((await frameBytesSent()).inline - before.inline).toBe(2 * W * H * 3);
    expect(filesLeft(memory)).toBe(0);
  });

  it('holds the sender back while the receiver has not taken its frames', async () => {
    const serverMemory = newMemory({ callBytes: 3 * W * H * 3 }); // three frames of a call may wait untaken
    const clientMemory = new FrameMemory(serverMemory.dir);
    cleanups.push(() => clientMemory.close());
    const server = await decoderServer(serverMemory);
    const client = clientOf(DecoderClient, server.port, clientMemory);
    const inTransit = (): number => readdirSync(join(serverMemory.dir, 'frames', serverMemory.instance)).filter((f) => !f.endsWith('.free')).length;
    let mostInTransit = 0;
    // A slow reader that takes one message at a time (as the gateway reads a stage's stream) and keeps the frames.
    const frames = await decodeAll(client, 12, async () => {
      await new Promise((resolve) => setTimeout(resolve, 40));
      mostInTransit = Math.max(mostInTransit, inTransit());
    }, 1);
    expect(mostInTransit).toBeGreaterThanOrEqual(2);
    expect(mostInTransit).toBeLessThanOrEqual(3);
    // Taken frames are the client's to read (from its own folder) whenever it wants.
    expect(frames.every(isLazyFrame)).toBe(true);
    expect(digest(frames)).toBe(digest(expected(12)));
    expect(filesLeft(serverMemory)).toBe(0);
  });

  it('passes unread frames on as their files: a stage that only forwards them copies nothing', async () => {
    const serverMemory = newMemory();
    const clientMemory = new FrameMemory(serverMemory.dir);
    cleanups.push(() => clientMemory.close());
    const server = await decoderServer(serverMemory);
    const [decoder, compositor] = [clientOf(DecoderClient, server.port, clientMemory), clientOf(CompositorClient, server.port, clientMemory)];
    const writes = { server: vi.spyOn(serverMemory, 'write'), client: vi.spyOn(clientMemory, 'write') };
    // decoder -> client -> compositor (passes them back) -> client -> encoder: written once, read once.
    const decoded = await decodeAll(decoder, 4);
    expect(writes.server).toHaveBeenCalledTimes(4);
    const call = compositor.composite();
    const answers: CompositeResponse[] = [];
    call.on('data', (answer: CompositeResponse) => answers.push(answer));
    const ended = new Promise((resolve, reject) => call.on('end', resolve).on('error', reject));
    call.write({ payload: { $case: 'config', value: CompositeConfig.fromPartial({ jobId: 'pass' }) } });
    for (const frame of decoded) call.write({ payload: { $case: 'batch', value: frameBatch('pass', [frame]) } });
    call.end();
    await ended;
    const back = answers.map((a) => a.frames[0].composite!);
    expect(back.every(isLazyFrame)).toBe(true);
    expect(() => decoded[0].data).toThrow(/frame 0 was passed on to another process unread/);
    const encoded = await encodeAll(decoder, back);
    expect(encoded).toMatchObject({ frameCount: 4, outputPath: digest(expected(4)) });
    expect(writes.server).toHaveBeenCalledTimes(4);
    expect(writes.client).not.toHaveBeenCalled();
    expect(filesLeft(serverMemory)).toBe(0);
  });

  it('keeps retained frames across sends (linked, not copied) until they are released', async () => {
    const serverMemory = newMemory();
    const clientMemory = new FrameMemory(serverMemory.dir);
    cleanups.push(() => clientMemory.close());
    const server = await decoderServer(serverMemory);
    const decoder = clientOf(DecoderClient, server.port, clientMemory);
    const decoded = await decodeAll(decoder, 2);
    retainFrames(decoded);
    // Sent twice (as a failed batch is sent again): both arrive whole; the frames stay readable here.
    for (let i = 0; i < 2; i++) expect((await encodeAll(decoder, decoded)).outputPath).toBe(digest(expected(2)));
    expect(filesLeft(serverMemory)).toBe(2);
    releaseFrames(decoded);
    expect(filesLeft(serverMemory)).toBe(0);
    expect(() => decoded[1].data).toThrow(/frame 1 was released/);
    // Read into a reused buffer (an encoder's): the file goes, the frame's own bytes with it.
    const [one, two] = await decodeAll(decoder, 2);
    const reused = Buffer.alloc(W * H * 3 + 10);
    expect(readFrameInto(one, reused)!.equals(expected(1)[0].data)).toBe(true);
    expect(readFrameInto(two, reused)!.equals(rgbFrame(1, W, H, pixels(1)).data)).toBe(true);
    expect(() => one.data).toThrow(/frame 0 was released/);
    expect(readFrameInto(expected(1)[0], reused)).toBeUndefined();
    expect(filesLeft(serverMemory)).toBe(0);
    // A frame given new bytes lets go of its file.
    const [other] = await decodeAll(decoder, 1);
    expect(filesLeft(serverMemory)).toBe(1);
    other.data = Buffer.from('new');
    expect(filesLeft(serverMemory)).toBe(0);
    expect(other.data.toString()).toBe('new');
  });

  it('fails the call with a clear error on a ref outside the folder or of the wrong size', async () => {
    const memory = newMemory();
    const server = await decoderServer(memory);
    // A peer sending refs it made itself (not through the transport): the server checks every one.
    const client = clientOf(DecoderClient, server.port, memory);
    const forged = (path: string, lengthBytes: number): Frame => ({ ...rgbFrame(0, W, H, Buffer.alloc(0)), memoryRef: { path, lengthBytes } });
    const escape = encodeAll(client, [forged('../../etc/passwd', W * H * 3)]);
    await expect(escape).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/^decoder: frame memory path "\.\.\/\.\.\/etc\/passwd" is not a frame file inside the frame memory folder\.$/) });
    const ref = memory.write(Buffer.alloc(10, 1));
    const wrongSize = encodeAll(client, [forged(ref.path, 12)]);
    await expect(wrongSize).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/holds 10 bytes; its ref says 12/) });
    // A server without frame memory refuses refs instead of reading them.
    const offServer = await decoderServer(null);
    const other = memory.write(Buffer.alloc(10, 1));
    await expect(encodeAll(clientOf(DecoderClient, offServer.port, null), [forged(other.path, 10)])).rejects.toMatchObject({ details: expect.stringMatching(/has no frame memory folder/) });
    // Still serving afterwards.
    expect((await encodeAll(client, expected(1))).frameCount).toBe(1);
  });
});
