import { Server, ServerCredentials } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { VaneliaError, fastDefinitionFor, meshChannelOptions, protoDir, type Logger, type ServiceRegistration } from '@vanelia/runtime';
import { HealthImplementation } from 'grpc-health-check';
import { readFileSync } from 'node:fs';

export interface TlsListenerOptions {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  /** CA of the client certificates; every call must present one it signed. */
  clientCaFile: string;
  services: ServiceRegistration[];
  logger: Logger;
}

export interface TlsListener {
  port: number;
  stop(graceMs: number): Promise<void>;
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new VaneliaError('gateway', 'INVALID_CONFIG', `cannot read the TLS ${what} ${path}: ${(error as Error).message}.`, { code: 'FAILED_PRECONDITION' });
  }
}

/**
 * The public API on its own port with mutual TLS: the server's certificate, and client certificates
 * checked against a CA (a call without a valid one never reaches a handler). Health and reflection are
 * served there too, so grpcurl-style tools work with the same certificates. Kubernetes probes keep using
 * the plain port (kubelet's gRPC probe speaks no TLS).
 */
export async function startTlsListener(o: TlsListenerOptions): Promise<TlsListener> {
  const credentials = ServerCredentials.createSsl(read(o.clientCaFile, 'client CA'), [{ cert_chain: read(o.certFile, 'certificate'), private_key: read(o.keyFile, 'key') }], true);
  const server = new Server(meshChannelOptions());
  const health = new HealthImplementation({ '': 'SERVING' });
  for (const service of o.services) {
    server.addService(fastDefinitionFor(service.definition), service.implementation);
    health.setStatus(service.fullName, 'SERVING');
  }
  health.addToServer(server);
  // Reflection describes what this port serves: the public API (and the messages it imports).
  new ReflectionService(loadSync(['vanelia/v1/gateway.proto'], { includeDirs: [protoDir()], keepCase: true, longs: Number, defaults: true })).addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${o.host}:${o.port}`, credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  o.logger.info('mutual TLS listener', { port });
  return {
    port,
    stop: (graceMs) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
