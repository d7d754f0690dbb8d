import { Server, ServerCredentials, status, type ServerDuplexStream } from '@grpc/grpc-js';
import { CompositorClient, CompositorService, type CompositeRequest, type CompositeResponse, type FrameBatch } from '@vanelia/proto';
import { fastDefinitionFor, frameBatch, rgbFrame } from '@vanelia/runtime';
import { HealthImplementation } from 'grpc-health-check';
import { staticSource } from '../../src/replicas/endpoint-source';
import { StageReplicas } from '../../src/replicas/stage-replicas';

export interface FakeCompositorBehaviour {
  /** Milliseconds each batch takes. */
  delayMs?: number;
  /** Called with each batch before answering: throw to fail the call with that error, return 'hang' to never answer. */
  onBatch?: (batch: FrameBatch, replica: FakeCompositor) => void | 'hang' | Promise<void | 'hang'>;
}

/**
 * A compositor replica in the test process: real gRPC (the mesh's codec), real health service, pass-through
 * answers; records which batches it saw and can fail, hang, drain or die on demand.
 */
export class FakeCompositor {
  readonly seen: string[] = [];
  readonly health = new HealthImplementation({ '': 'SERVING' });
  calls = 0;
  private constructor(readonly server: Server, readonly address: string, public behaviour: FakeCompositorBehaviour) {}

  static async start(behaviour: FakeCompositorBehaviour = {}): Promise<FakeCompositor> {
    const server = new Server();
    let self!: FakeCompositor;
    server.addService(fastDefinitionFor(CompositorService), {
      composite: (call: ServerDuplexStream<CompositeRequest, CompositeResponse>) => {
        self.calls += 1;
        let jobId = '';
        let chain = Promise.resolve();
        call.on('data', (message: CompositeRequest) => {
          chain = chain.then(async () => {
            if (call.cancelled || call.destroyed) return;
            if (message.payload?.$case === 'config') jobId = message.payload.value.jobId;
            if (message.payload?.$case !== 'batch') return;
            const batch = message.payload.value;
            self.seen.push(batch.batchId);
            try {
              if ((await self.behaviour.onBatch?.(batch, self)) === 'hang') return new Promise<void>(() => undefined);
            } catch (error) {
              call.emit('error', { code: (error as { code?: number }).code ?? status.INTERNAL, details: (error as Error).message });
              return;
            }
            if (self.behaviour.delayMs) await new Promise((r) => setTimeout(r, self.behaviour.delayMs));
            call.write({ jobId, batchId: batch.batchId, frames: batch.frames.map((f) => ({ composite: f, inpaintMask: undefined, region: undefined })), warnings: [] });
          });
        });
        call.on('end', () => void chain.then(() => call.end()));
      },
    });
    self = new FakeCompositor(server, '', behaviour);
    self.health.addToServer(server);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    (self as { address: string }).address = `127.0.0.1:${port}`;
    return self;
  }

  drain(): void {
    this.health.setStatus('', 'NOT_SERVING');
  }

  kill(): void {
    this.server.forceShutdown();
  }
}

/** Replicas of the compositor stage over some fake compositors' addresses. */
export function replicasOf(...fakes: FakeCompositor[]): StageReplicas<CompositorClient> {
  return new StageReplicas('compositor', staticSource(fakes.map((f) => f.address)), StageReplicas.forClient(CompositorClient), { failureBackoffMs: 200 });
}

/** `count` batches of `perBatch` tiny frames for job `jobId`. */
export async function* tinyBatches(jobId: string, count: number, perBatch = 2, onPull?: (i: number) => void): AsyncGenerator<FrameBatch> {
  for (let b = 0; b < count; b++) {
    onPull?.(b);
    const frames = Array.from({ length: perBatch }, (_, i) => {
      const index = b * perBatch + i;
      return rgbFrame(index, 2, 2, new Uint8Array(12).fill(index % 251));
    });
    yield frameBatch(jobId, frames);
  }
}
