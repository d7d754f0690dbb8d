import { credentials, type ChannelCredentials, type Client } from '@grpc/grpc-js';
import { meshClientOptions } from './grpc-options';

type ClientConstructor<C> = new (address: string, creds: ChannelCredentials, options?: object) => C;

/**
 * A client of one mesh service. `address` may be "host:port" or a resolver target such as
 * "dns:///decoder-headless.vanelia.svc:50051" (round-robin over every replica the name resolves to).
 */
export function createMeshClient<C extends Client>(Ctor: ClientConstructor<C>, address: string, creds = credentials.createInsecure()): C {
  return new Ctor(address, creds, meshClientOptions());
}

/** Resolves once the client's channel is connected, or rejects after `timeoutMs`. */
export function waitForClientReady(client: Client, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    client.waitForReady(Date.now() + timeoutMs, (error) => (error ? reject(error) : resolve()));
  });
}
