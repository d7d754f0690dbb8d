import { DEFAULT_PORTS, REPO_ROOT, waitForServing, type ServiceName } from '@vanelia/runtime';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MESH_SERVICES: ServiceName[] = ['decoder', 'pose', 'compositor', 'inpaint', 'gateway'];

export interface LocalMeshOptions {
  /** Shared storage folder for every service. */
  storageRoot: string;
  /** Extra environment for every service (e.g. model folders, log level). */
  env?: Record<string, string>;
  /** Per-service extra environment. */
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Let each service bind a port the OS chooses (default) instead of the fixed defaults. */
  freePorts?: boolean;
  /** Where each service's log lines go (also printed when VANELIA_MESH_LOGS=1). */
  onLog?: (service: ServiceName, line: string) => void;
  /** How long to wait for every service to report SERVING. */
  startTimeoutMs?: number;
  /**
   * Frames between the services through a shared-memory folder (made under /dev/shm, removed on stop)
   * instead of inside the gRPC messages (default true; the gRPC path is the same).
   */
  frameMemory?: boolean;
}

export interface ServiceProcess {
  name: ServiceName;
  address: string;
  metricsPort: number;
  process: ChildProcess;
}

export interface LocalMesh {
  gatewayAddress: string;
  /** The services' frame memory folder ('' when off). */
  frameMemoryDir: string;
  services: Record<ServiceName, ServiceProcess>;
  /** SIGTERM to every service (they drain), then waits for them to exit. */
  stop(): Promise<void>;
  /** Starts one service again (after it was stopped or killed), on the same ports. */
  restart(name: ServiceName): Promise<void>;
}

/** The entry file of a service, run through tsx. */
export function serviceEntry(name: ServiceName): string {
  return join(REPO_ROOT, 'services', name, 'src', 'main.ts');
}

/** SIGTERM (the service drains), then waits for the exit; SIGKILL after a minute. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(timer);
}

export interface SpawnedService {
  process: ChildProcess;
  /** Ports the service bound (it was started with the ones asked for, or 0 for any). */
  port: number;
  metricsPort: number;
}

/**
 * Allocator settings every service process starts with: frames are 3-25 MB Buffers, which glibc by
 * default maps fresh from the kernel and unmaps again, one page fault per 4 KiB each time; with these
 * it reuses freed heap memory (bench/mesh-throughput.ts: the shared-memory mesh went from 79 % to 84 %
 * of in-process throughput, the in-process rate was unchanged). The environment of the caller wins.
 */
export const SERVICE_PROCESS_ENV: Record<string, string> = {
  MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(512 * 1024 * 1024),
};

/**
 * Starts one service process through tsx with `env` on top of this process's environment, forwards its
 * log lines, and resolves with the ports it reports over IPC once it listens (not yet SERVING).
 */
export async function spawnServiceProcess(name: ServiceName, env: Record<string, string>, onLine: (line: string) => void, timeoutMs = 60_000): Promise<SpawnedService> {
  const child = spawn(process.execPath, [...(process.env.VANELIA_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.VANELIA_PROF_DIR] : []), '--import', 'tsx', serviceEntry(name)], {
    cwd: REPO_ROOT,
    env: { ...SERVICE_PROCESS_ENV, ...(process.env as Record<string, string>), ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const forward = (data: Buffer): void => {
    for (const line of data.toString().split('\n')) if (line) onLine(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  const bound = await new Promise<{ port: number; metricsPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start listening within ${timeoutMs} ms`)), timeoutMs);
    child.on('message', (message: { type?: string; port?: number; metricsPort?: number }) => {
      if (message?.type !== 'vanelia:listening') return;
      clearTimeout(timer);
      resolve({ port: message.port!, metricsPort: message.metricsPort! });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} while starting (run with VANELIA_MESH_LOGS=1 to see its log)`));
    });
  });
  return { process: child, ...bound };
}

/** A new folder for one mesh's frame memory: in /dev/shm (tmpfs) where there is one, else the temp folder. */
async function makeFrameMemoryDir(): Promise<string> {
  if (existsSync('/dev/shm')) {
    const made = await mkdtemp(join('/dev/shm', 'vanelia-frames-')).catch(() => undefined);
    if (made) return made;
  }
  return mkdtemp(join(tmpdir(), 'vanelia-frames-'));
}

/**
 * Starts the whole mesh locally as separate processes on loopback: the same gRPC path as in Kubernetes,
 * with the gateway pointed at the other four. Services bind port 0 (no race between choosing a free
 * port and binding it) and report the bound ports over IPC; a restart keeps them.
 */
export async function startLocalMesh(options: LocalMeshOptions): Promise<LocalMesh> {
  await mkdir(options.storageRoot, { recursive: true });
  const ports = {} as Record<ServiceName, { grpc: number; metrics: number }>;
  for (const name of MESH_SERVICES) {
    ports[name] = options.freePorts === false ? { grpc: DEFAULT_PORTS[name], metrics: 9464 + MESH_SERVICES.indexOf(name) } : { grpc: 0, metrics: 0 };
  }
  const address = (name: ServiceName): string => `127.0.0.1:${ports[name].grpc}`;
  const showLogs = process.env.VANELIA_MESH_LOGS === '1';
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const services = {} as Record<ServiceName, ServiceProcess>;
  const frameMemoryDir = options.frameMemory === false ? '' : await makeFrameMemoryDir();

  const launch = async (name: ServiceName): Promise<ServiceProcess> => {
    const env: Record<string, string> = {
      VANELIA_HOST: '127.0.0.1',
      VANELIA_PORT: String(ports[name].grpc),
      VANELIA_METRICS_PORT: String(ports[name].metrics),
      VANELIA_STORAGE_ROOT: options.storageRoot,
      VANELIA_DECODER_ADDR: address('decoder'),
      VANELIA_POSE_ADDR: address('pose'),
      VANELIA_COMPOSITOR_ADDR: address('compositor'),
      VANELIA_INPAINT_ADDR: address('inpaint'),
      VANELIA_FRAME_MEMORY_DIR: frameMemoryDir,
      ...options.env,
      ...options.serviceEnv?.[name],
    };
    const started = await spawnServiceProcess(
      name,
      env,
      (line) => {
        options.onLog?.(name, line);
        if (showLogs) process.stderr.write(`[${name}] ${line}\n`);
      },
      timeoutMs,
    );
    ports[name] = { grpc: started.port, metrics: started.metricsPort };
    return { name, address: address(name), metricsPort: started.metricsPort, process: started.process };
  };
  const waitServing = (name: ServiceName): Promise<void> => waitForServing(services[name].address, timeoutMs);

  try {
    // The stages first: the gateway starts with their addresses.
    await Promise.all(MESH_SERVICES.filter((n) => n !== 'gateway').map(async (n) => (services[n] = await launch(n))));
    services.gateway = await launch('gateway');
    await Promise.all(MESH_SERVICES.map(waitServing));
  } catch (error) {
    for (const service of Object.values(services)) service.process.kill('SIGKILL');
    if (frameMemoryDir) await rm(frameMemoryDir, { recursive: true, force: true });
    throw error;
  }

  return {
    gatewayAddress: address('gateway'),
    frameMemoryDir,
    services,
    async stop() {
      // The gateway first, so no new work is sent to stages that are draining.
      await stopProcess(services.gateway.process);
      await Promise.all(MESH_SERVICES.filter((n) => n !== 'gateway').map((n) => stopProcess(services[n].process)));
      if (frameMemoryDir) await rm(frameMemoryDir, { recursive: true, force: true });
    },
    async restart(name) {
      await stopProcess(services[name].process);
      services[name] = await launch(name);
      await waitServing(name);
    },
  };
}
