import {
  InterceptingCall,
  Metadata,
  ServerInterceptingCall,
  type Interceptor,
  type Requester,
  type ServerInterceptor,
  type status as Status,
} from '@grpc/grpc-js';
import type { Frame, FrameMemoryRef } from '@vanelia/proto';
import { setTimeout as sleep } from 'node:timers/promises';
import { VaneliaError, type StageName } from './errors';
import type { FrameMemory } from './frame-memory';
import { isLazyFrame, lazyFrame, passFrameRef } from './frame-lease';
import { frameMethodSchemas, mapFrames, type WireSchema } from './frame-wire';
import { frameBytesExpected } from './frames';
import { silentLogger, type Logger } from './logger';
import { frameBytes } from './metrics';
import { toServiceError } from './rpc';

/**
 * The shared-memory frame transport on the gRPC path, as interceptors every mesh server and client
 * installs (service code keeps sending and receiving frames with `data`). Per call: the client sends its
 * frame memory domain in the request metadata; the server answers with its own at once in the response
 * headers. Each side turns outgoing frames into memory refs only when the peer's domain is its own, and
 * resolves incoming refs back into bytes before the message reaches the handler or the caller.
 */

/** Metadata key of the negotiation: a frame memory domain id, or "none". */
export const FRAME_MEMORY_DOMAIN_KEY = 'vanelia-frame-memory-domain';
const NO_DOMAIN = 'none';

export interface FrameTransportOptions {
  stage: StageName;
  /** This process's frame memory; undefined: frames always travel inline. */
  memory?: FrameMemory;
  /** How long a client waits for the server's domain before its first frames (then sends inline). */
  negotiationTimeoutMs?: number;
  logger?: Logger;
}

const EMPTY = Buffer.alloc(0);
const domainIn = (metadata: Metadata): string | null => {
  const value = metadata.get(FRAME_MEMORY_DOMAIN_KEY)[0];
  return typeof value === 'string' && value !== NO_DOMAIN ? value : null;
};

/** Bytes of a frame's pixels, without reading an unread one. */
const pixelBytes = (frame: Frame): number => (isLazyFrame(frame) ? frameBytesExpected(frame.widthPx, frame.heightPx, frame.format) : frame.data.byteLength);

/** Bytes of the frames with pixels in `message`. */
function frameDataBytes(schema: WireSchema, message: unknown): number {
  let bytes = 0;
  mapFrames(schema, message, (frame) => ((bytes += pixelBytes(frame)), frame));
  return bytes;
}

/** The frame as sent: its pixels replaced by a ref (never read through its getter). */
const asRef = (frame: Frame, memoryRef: FrameMemoryRef): Frame => ({
  index: frame.index,
  widthPx: frame.widthPx,
  heightPx: frame.heightPx,
  format: frame.format,
  data: EMPTY,
  ptsUs: frame.ptsUs,
  memoryRef,
});

/**
 * `message` with every memory ref taken (the file moves into this process's folder) and turned into a
 * frame whose `data` reads it when first used (frame-lease.ts). A bad ref (outside the folder, of
 * another size, a process without the folder) fails with a VaneliaError.
 */
export function resolveFrameRefs(schema: WireSchema, message: unknown, memory: FrameMemory | undefined, stage: StageName): any {
  return mapFrames(schema, message, (frame) => {
    if (!frame.memoryRef) return frame;
    if (!memory) throw new VaneliaError(stage, 'FRAME_MEMORY_OFF', 'received a frame in shared memory, but this process has no frame memory folder (VANELIA_FRAME_MEMORY_DIR).');
    if (frame.data.byteLength > 0) throw new VaneliaError(stage, 'FRAME_MEMORY_REF', `frame ${frame.index} carries both bytes and a memory ref.`);
    return lazyFrame({ ...frame, memoryRef: memory.claim(frame.memoryRef, stage) }, memory, stage);
  });
}

/** One call's outgoing frames: negotiation, refs written and not yet read, backpressure on them. */
class OutgoingFrames {
  private peer: string | null | undefined;
  private answered: () => void = () => undefined;
  private readonly answer: Promise<void>;
  private unread: Array<{ refs: FrameMemoryRef[]; bytes: number }> = [];
  private unreadBytes = 0;
  private ended = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly schema: WireSchema | undefined,
    private readonly o: FrameTransportOptions,
  ) {
    this.answer = new Promise((resolve) => (this.answered = resolve));
  }

  /** The peer's domain (null: it has none, or does not take part). */
  setPeer(domain: string | null): void {
    this.peer = domain;
    this.answered();
  }

  /** The call is over: stop waiting; with `discard`, remove the refs the peer has not read (it never will). */
  end(discard: boolean): void {
    this.ended = true;
    this.answered();
    if (discard) for (const entry of this.unread.splice(0)) for (const ref of entry.refs) this.o.memory?.discard(ref);
    this.unreadBytes = 0;
  }

  /** Hands `message` to `next` in order, its frames as refs when the peer shares this process's memory. */
  send(message: unknown, next: (message: unknown) => void): void {
    this.queue = this.queue.then(async () => {
      let out = message;
      try {
        out = await this.prepare(message);
      } catch (error) {
        // Inline then; a frame that was passed on unread has no bytes left here, and its call fails.
        this.o.logger?.warn('frame memory write failed; sending the frames inline', { error });
        try {
          frameBytes.inc({ transport: 'inline' }, this.schema ? frameDataBytes(this.schema, message) : 0);
        } catch {
          // counted by nobody: the serializer reports the frame
        }
      }
      next(out);
    });
  }

  private async prepare(message: unknown): Promise<unknown> {
    const { schema, o } = this;
    if (!schema) return message;
    const bytes = frameDataBytes(schema, message);
    if (bytes === 0) return message;
    const memory = o.memory;
    if (memory && this.peer === undefined && !this.ended) {
      // The first frames wait for the server's answer (one round trip a call; it answers in its headers).
      const timeout = new AbortController();
      await Promise.race([this.answer, sleep(o.negotiationTimeoutMs ?? 5000, undefined, { signal: timeout.signal }).catch(() => undefined)]);
      timeout.abort();
      this.peer ??= null;
    }
    if (!memory || this.peer !== memory.domain || this.ended) {
      frameBytes.inc({ transport: 'inline' }, bytes);
      return message;
    }
    await this.roomFor(bytes, memory);
    if (this.ended) return message; // the call is over; grpc-js drops what is still sent
    const refs: FrameMemoryRef[] = [];
    try {
      const out = mapFrames(schema, message, (frame) => {
        // An unread frame moves as its file; one with bytes is written to a new one.
        const passed = passFrameRef(frame, memory);
        if (passed) return refs.push(passed), asRef(frame, passed);
        if (frame.data.byteLength === 0) return frame;
        const ref = memory.write(frame.data);
        refs.push(ref);
        return asRef(frame, ref);
      });
      this.unread.push({ refs, bytes });
      this.unreadBytes += bytes;
      frameBytes.inc({ transport: 'memory' }, bytes);
      return out;
    } catch (error) {
      for (const ref of refs) memory.discard(ref);
      throw error;
    }
  }

  /** Waits until the peer has taken enough of this call's earlier frames for `bytes` more (one message always fits). */
  private async roomFor(bytes: number, memory: FrameMemory): Promise<void> {
    let delayMs = 1;
    for (;;) {
      while (this.unread.length > 0 && !this.unread[0].refs.some((ref) => memory.unread(ref))) this.unreadBytes -= this.unread.shift()!.bytes;
      if (this.ended || this.unread.length === 0 || this.unreadBytes + bytes <= memory.options.callBytes) return;
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, 16);
    }
  }
}

/** Client side: offers this process's domain, waits for the answer before the first frames, resolves refs in answers. */
export function frameClientInterceptor(o: FrameTransportOptions): Interceptor {
  return (options, nextCall) => {
    const schemas = frameMethodSchemas(options.method_definition.path);
    if (!schemas) return new InterceptingCall(nextCall(options));
    const out = new OutgoingFrames(schemas.request, o);
    if (!o.memory) out.setPeer(null);
    let call: InterceptingCall | undefined;
    const requester: Requester = {
      start(metadata, _listener, next) {
        if (o.memory) metadata.set(FRAME_MEMORY_DOMAIN_KEY, o.memory.domain);
        next(metadata, {
          onReceiveMetadata(md, nextMd) {
            out.setPeer(domainIn(md));
            nextMd(md);
          },
          onReceiveMessage(message, nextMessage) {
            if (!schemas.response) return nextMessage(message);
            let resolved: unknown;
            try {
              resolved = resolveFrameRefs(schemas.response, message, o.memory, o.stage);
            } catch (error) {
              const failure = toServiceError(o.stage, error, o.logger ?? silentLogger);
              call?.cancelWithStatus(failure.code as Status, failure.details);
              return;
            }
            nextMessage(resolved);
          },
          onReceiveStatus(status, nextStatus) {
            out.end(true); // the server is done: request frames it did not read are garbage
            nextStatus(status);
          },
        });
      },
      sendMessage(message, next) {
        out.send(message, next);
      },
      cancel(next) {
        out.end(true);
        next();
      },
    };
    call = new InterceptingCall(nextCall(options), requester);
    return call;
  };
}

/** Server side: answers the client's domain in the response headers at once, resolves refs in requests. */
export function frameServerInterceptor(o: FrameTransportOptions): ServerInterceptor {
  return (method, call) => {
    const schemas = frameMethodSchemas(method.path);
    if (!schemas) return new ServerInterceptingCall(call);
    const out = new OutgoingFrames(schemas.response, o);
    let offered = false;
    let statusSent = false;
    const intercepting: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMd) {
            offered = metadata.get(FRAME_MEMORY_DOMAIN_KEY).length > 0;
            out.setPeer(domainIn(metadata));
            nextMd(metadata);
            // The client holds its first frames until it knows: answer now, not with the first response.
            if (offered) intercepting.sendMetadata(new Metadata());
          },
          onReceiveMessage(message, nextMessage) {
            if (!schemas.request) return nextMessage(message);
            let resolved: unknown;
            try {
              resolved = resolveFrameRefs(schemas.request, message, o.memory, o.stage);
            } catch (error) {
              out.end(false);
              const failure = toServiceError(o.stage, error, o.logger ?? silentLogger);
              intercepting.sendStatus({ code: failure.code, details: failure.details, metadata: failure.metadata });
              return;
            }
            nextMessage(resolved);
          },
          onCancel() {
            // grpc-js also calls this after the status went out; only a call cut short leaves frames unread for good.
            if (!statusSent) out.end(true);
          },
        });
      },
      sendMetadata(metadata, next) {
        if (offered) metadata.set(FRAME_MEMORY_DOMAIN_KEY, o.memory?.domain ?? NO_DOMAIN);
        next(metadata);
      },
      sendMessage(message, next) {
        out.send(message, next);
      },
      sendStatus(status, next) {
        statusSent = true;
        out.end(false); // the client still reads what was sent before the status
        next(status);
      },
    });
    return intercepting;
  };
}
