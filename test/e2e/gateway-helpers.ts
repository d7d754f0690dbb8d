/**
 * Helpers for the gateway's end-to-end tests: extra service processes beside a local mesh, metrics read
 * from a service's /metrics, child processes of a service, and small generated videos.
 */
import { waitForServing, type ServiceName } from '@vanelia/runtime';
import { spawnServiceProcess, stopProcess } from '@vanelia/cli';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface ExtraService {
  name: ServiceName;
  address: string;
  metricsPort: number;
  process: ChildProcess;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** Starts one more service process (a second replica, a second gateway) with `env`, on free ports. */
export async function spawnService(name: ServiceName, env: Record<string, string>, onLog?: (line: string) => void): Promise<ExtraService> {
  const started = await spawnServiceProcess(
    name,
    { VANELIA_HOST: '127.0.0.1', VANELIA_PORT: '0', VANELIA_METRICS_PORT: '0', VANELIA_LOG_LEVEL: 'warn', ...env },
    (line) => {
      onLog?.(line);
      if (process.env.VANELIA_MESH_LOGS === '1') process.stderr.write(`[${name}+] ${line}\n`);
    },
  );
  const address = `127.0.0.1:${started.port}`;
  await waitForServing(address, 60_000);
  return { name, address, metricsPort: started.metricsPort, process: started.process, stop: () => stopProcess(started.process) };
}

/** The value of one series in a service's /metrics (0 when absent); `labels` must all match. */
export async function metricValue(metricsPort: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const set = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => set[k] === v)) sum += Number(match[3]);
  }
  return sum;
}

/** Command names of the live child processes of `pid` (e.g. the decoder's ffmpeg processes). */
export function childCommands(pid: number): string[] {
  const out: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push(stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** Resident memory of a process, bytes (from /proc). */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** Polls `check` until it returns true (or throws after `ms` with `what`). */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
