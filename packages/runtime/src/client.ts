import { credentials, makeGenericClientConstructor, type ChannelCredentials, type Client, type ServiceDefinition } from '@grpc/grpc-js';
import type { StageName } from './errors';
import { frameMemoryFromEnv, type FrameMemory } from './frame-memory';
import { frameClientInterceptor } from './frame-transport';
import { fastDefinitionFor } from './frame-wire';
import { meshClientOptions } from './grpc-options';
import type { Logger } from './logger';

type ClientConstructor<C> = (new (address: string, creds: ChannelCredentials, options?: object) => C) & { service?: ServiceDefinition; serviceName?: string };

const fastConstructors = new WeakMap<object, ClientConstructor<Client>>();

/** The same client class, speaking the fast frame codec on frame-carrying methods. */
function fastConstructor<C>(Ctor: ClientConstructor<C>): ClientConstructor<C> {
  if (!Ctor.service) return Ctor;
  let fast = fastConstructors.get(Ctor);
  if (!fast) {
    const definition = fastDefinitionFor(Ctor.service);
    fast = definition === Ctor.service ? (Ctor as ClientConstructor<Client>) : (makeGenericClientConstructor(definition, Ctor.serviceName ?? '') as unknown as ClientConstructor<Client>);
    fastConstructors.set(Ctor, fast);
  }
  return fast as unknown as ClientConstructor<C>;
}

export interface MeshClientOptions {
  /** Frame memory shared with co-located servers; default: the one VANELIA_FRAME_MEMORY_DIR names; null: off. */
  frameMemory?: FrameMemory | null;
  /** Stage named in errors about received frames. */
  stage?: StageName;
  /** Longest wait for the server's frame memory answer before the first frames go inline. */
  negotiationTimeoutMs?: number;
  logger?: Logger;
}

/**
 * A client of one mesh service. `address` may be "host:port" or a resolver target such as
 * "dns:///decoder-headless.vanelia.svc:50051" (round-robin over every replica the name resolves to).
 * Frames go through the shared frame memory when the server shares it (frame-transport.ts).
 */
export function createMeshClient<C extends Client>(Ctor: ClientConstructor<C>, address: string, creds = credentials.createInsecure(), options: MeshClientOptions = {}): C {
  const Fast = fastConstructor(Ctor);
  const stage = options.stage ?? 'gateway';
  const memory = options.frameMemory === undefined ? frameMemoryFromEnv(stage) : (options.frameMemory ?? undefined);
  return new Fast(address, creds, { ...meshClientOptions(), interceptors: [frameClientInterceptor({ stage, memory, negotiationTimeoutMs: options.negotiationTimeoutMs, logger: options.logger })] });
}

/** Resolves once the client's channel is connected, or rejects after `timeoutMs`. */
export function waitForClientReady(client: Client, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    client.waitForReady(Date.now() + timeoutMs, (error) => (error ? reject(error) : resolve()));
  });
}
