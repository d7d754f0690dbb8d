import { DEFAULT_PORTS, REPO_ROOT, waitForServing, type ServiceName } from '@vanelia/runtime';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const MESH_SERVICES: ServiceName[] = ['decoder', 'pose', 'compositor', 'inpaint', 'gateway'];

export interface LocalMeshOptions {
  /** Shared storage folder for every service. */
  storageRoot: string;
  /** Extra environment for every service (e.g. model folders, log level). */
  env?: Record<string, string>;
  /** Per-service extra environment. */
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Ask the OS for free ports (default) instead of the fixed defaults. */
  freePorts?: boolean;
  /** Where each service's log lines go (default: dropped unless VANELIA_MESH_LOGS=1). */
  onLog?: (service: ServiceName, line: string) => void;
  /** How long to wait for every service to report SERVING. */
  startTimeoutMs?: number;
}

export interface ServiceProcess {
  name: ServiceName;
  address: string;
  metricsPort: number;
  process: ChildProcess;
}

export interface LocalMesh {
  gatewayAddress: string;
  services: Record<ServiceName, ServiceProcess>;
  /** SIGTERM to every service (they drain), then waits for them to exit. */
  stop(): Promise<void>;
  /** Starts one service again (after it was stopped or killed), on the same ports. */
  restart(name: ServiceName): Promise<void>;
}

/** A port the OS says is free now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The entry file of a service, run through tsx. */
export function serviceEntry(name: ServiceName): string {
  return join(REPO_ROOT, 'services', name, 'src', 'main.ts');
}

/**
 * Starts the whole mesh locally as separate processes on loopback: the same gRPC path as in Kubernetes,
 * with the gateway pointed at the other four.
 */
export async function startLocalMesh(options: LocalMeshOptions): Promise<LocalMesh> {
  await mkdir(options.storageRoot, { recursive: true });
  const ports = {} as Record<ServiceName, { grpc: number; metrics: number }>;
  for (const name of MESH_SERVICES) {
    ports[name] = options.freePorts === false ? { grpc: DEFAULT_PORTS[name], metrics: 9464 + MESH_SERVICES.indexOf(name) } : { grpc: await freePort(), metrics: await freePort() };
  }
  const address = (name: ServiceName): string => `127.0.0.1:${ports[name].grpc}`;
  const showLogs = process.env.VANELIA_MESH_LOGS === '1';
  const services = {} as Record<ServiceName, ServiceProcess>;

  const launch = (name: ServiceName): ServiceProcess => {
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      VANELIA_HOST: '127.0.0.1',
      VANELIA_PORT: String(ports[name].grpc),
      VANELIA_METRICS_PORT: String(ports[name].metrics),
      VANELIA_STORAGE_ROOT: options.storageRoot,
      VANELIA_DECODER_ADDR: address('decoder'),
      VANELIA_POSE_ADDR: address('pose'),
      VANELIA_COMPOSITOR_ADDR: address('compositor'),
      VANELIA_INPAINT_ADDR: address('inpaint'),
      ...options.env,
      ...options.serviceEnv?.[name],
    };
    const child = spawn(process.execPath, ['--import', 'tsx', serviceEntry(name)], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const forward = (data: Buffer): void => {
      for (const line of data.toString().split('\n')) {
        if (!line) continue;
        options.onLog?.(name, line);
        if (showLogs) process.stderr.write(`[${name}] ${line}\n`);
      }
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    return { name, address: address(name), metricsPort: ports[name].metrics, process: child };
  };

  const stopOne = async (service: ServiceProcess): Promise<void> => {
    if (service.process.exitCode !== null || service.process.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => service.process.once('exit', () => resolve()));
    service.process.kill('SIGTERM');
    const timer = setTimeout(() => service.process.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
  };

  const waitAll = async (names: ServiceName[]): Promise<void> => {
    const timeoutMs = options.startTimeoutMs ?? 60_000;
    await Promise.all(
      names.map(async (name) => {
        const exited = new Promise<never>((_, reject) =>
          services[name].process.once('exit', (code) => reject(new Error(`${name} exited with code ${code} while starting (run with VANELIA_MESH_LOGS=1 to see its log)`))),
        );
        await Promise.race([waitForServing(services[name].address, timeoutMs), exited]);
      }),
    );
  };

  for (const name of MESH_SERVICES) services[name] = launch(name);
  const mesh: LocalMesh = {
    gatewayAddress: address('gateway'),
    services,
    async stop() {
      // The gateway first, so no new work is sent to stages that are draining.
      await stopOne(services.gateway);
      await Promise.all(MESH_SERVICES.filter((n) => n !== 'gateway').map((n) => stopOne(services[n])));
    },
    async restart(name) {
      await stopOne(services[name]);
      services[name] = launch(name);
      await waitAll([name]);
    },
  };
  try {
    await waitAll(MESH_SERVICES);
  } catch (error) {
    await Promise.all(MESH_SERVICES.map((n) => { services[n].process.kill('SIGKILL'); }));
    throw error;
  }
  return mesh;
}
