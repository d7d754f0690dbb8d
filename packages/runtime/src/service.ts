import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BaseServiceConfig } from './config';
import { frameMemoryFor, type FrameMemory } from './frame-memory';
import { frameServerInterceptor } from './frame-transport';
import { fastDefinitionFor } from './frame-wire';
import type { StageName } from './errors';
import { meshChannelOptions } from './grpc-options';
import type { Logger } from './logger';
import { serviceReady, startMetricsServer, type MetricsServer } from './metrics';
import { REPO_ROOT } from './paths';

export type ServiceName = Exclude<StageName, 'cli'>;

export interface ServiceRegistration {
  /** Fully qualified gRPC service name, e.g. "vanelia.v1.Decoder" (health reports under it). */
  fullName: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

export interface StartServiceOptions {
  name: ServiceName;
  config: BaseServiceConfig;
  logger: Logger;
  services: ServiceRegistration[];
  /** Resolves true once the service can do its work (models loaded, device answers); polled until then. */
  checkReady?: () => Promise<boolean>;
  /** How often `checkReady` is polled while not ready. */
  readyPollMs?: number;
  /**
   * Runs on stop, after health turns NOT_SERVING and before the gRPC server drains: finish work that is
   * not an RPC (the gateway's running jobs) by `deadlineMs` (epoch ms).
   */
  beforeDrain?: (deadlineMs: number) => Promise<void>;
  /** Runs after the gRPC server has drained (close models, sessions, renderers). */
  onStopped?: () => Promise<void>;
  /** Install SIGTERM/SIGINT handlers that drain and exit (default true; off in tests). */
  handleSignals?: boolean;
  /** Frame memory shared with co-located peers; default: the one the config names; null: off. */
  frameMemory?: FrameMemory | null;
}

export interface RunningService {
  /** Bound gRPC port (useful when 0 was asked for). */
  port: number;
  metricsPort: number;
  /** Stops accepting calls, lets in-flight calls finish within `graceMs`, then forces the rest. */
  stop(graceMs?: number): Promise<void>;
}

/** Folder of the .proto files, for server reflection (images copy it beside the bundle). */
export function protoDir(): string {
  return process.env.VANELIA_PROTO_DIR ?? join(REPO_ROOT, 'proto');
}

function reflectionFor(logger: Logger): ReflectionService | undefined {
  const dir = protoDir();
  const versionDir = join(dir, 'vanelia', 'v1');
  if (!existsSync(versionDir)) {
    logger.warn('proto folder not found; server reflection is off', { dir });
    return undefined;
  }
  const files = readdirSync(versionDir).filter((f) => f.endsWith('.proto')).map((f) => `vanelia/v1/${f}`);
  const definition = loadSync(files, { includeDirs: [dir], keepCase: true, longs: Number, defaults: true });
  return new ReflectionService(definition);
}

/**
 * Starts a mesh service: gRPC with health (grpc.health.v1, SERVING only once `checkReady` says so),
 * reflection, keepalive and large-message limits; `/metrics` and `/healthz` over HTTP; SIGTERM drains.
 * Frames go through the shared frame memory with clients that share it (frame-transport.ts).
 */
export async function startService(options: StartServiceOptions): Promise<RunningService> {
  const { name, config, logger } = options;
  const memory = options.frameMemory === undefined ? frameMemoryFor(config, name) : (options.frameMemory ?? undefined);
  const server = new Server({ ...meshChannelOptions(), interceptors: [frameServerInterceptor({ stage: name, memory, logger })] });
  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  for (const service of options.services) {
    health.setStatus(service.fullName, 'NOT_SERVING');
    server.addService(fastDefinitionFor(service.definition), service.implementation);
  }
  health.addToServer(server);
  reflectionFor(logger)?.addToServer(server);

  let ready = false;
  let stopping = false;
  const setServing = (serving: boolean): void => {
    ready = serving;
    const status = serving ? 'SERVING' : 'NOT_SERVING';
    health.setStatus('', status);
    for (const service of options.services) health.setStatus(service.fullName, status);
    serviceReady.set({ service: name }, serving ? 1 : 0);
  };

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${config.VANELIA_HOST}:${config.VANELIA_PORT}`, ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  const metrics: MetricsServer = await startMetricsServer(config.VANELIA_HOST, config.VANELIA_METRICS_PORT, () => ready);

  let pollTimer: NodeJS.Timeout | undefined;
  const poll = async (): Promise<void> => {
    if (stopping) return;
    let ok = true;
    try {
      ok = options.checkReady ? await options.checkReady() : true;
    } catch (error) {
      logger.warn('readiness check failed', { error });
      ok = false;
    }
    if (stopping) return;
    if (ok) {
      setServing(true);
      logger.info('serving', { port, metricsPort: metrics.port });
    } else {
      pollTimer = setTimeout(poll, options.readyPollMs ?? 1000);
    }
  };
  await poll();

  let stopped: Promise<void> | undefined;
  const stop = (graceMs = config.VANELIA_SHUTDOWN_GRACE_MS): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      if (pollTimer) clearTimeout(pollTimer);
      setServing(false);
      logger.info('draining', { graceMs });
      const deadline = Date.now() + graceMs;
      await options.beforeDrain?.(deadline).catch((error: unknown) => logger.warn('drain hook failed', { error }));
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          logger.warn('grace period over; cancelling calls still running');
          server.forceShutdown();
          resolve();
        }, Math.max(0, deadline - Date.now()));
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      await metrics.close();
      await options.onStopped?.();
      logger.info('stopped');
    })();
    return stopped;
  };

  // Under a local supervisor (the CLI's mesh), report the bound ports and stop when it goes away.
  if (process.send && process.connected) {
    process.send({ type: 'vanelia:listening', service: name, port, metricsPort: metrics.port });
    process.once('disconnect', () => {
      logger.warn('supervisor went away; stopping');
      void stop().finally(() => process.exit(0));
    });
  }

  if (options.handleSignals ?? true) {
    const onSignal = (signal: string): void => {
      logger.info('signal received', { signal });
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error('shutdown failed', { error });
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  }
  return { port, metricsPort: metrics.port, stop };
}
