/**
 * The images, as far as this machine can check them without a Docker daemon: the Dockerfiles' shape
 * (multi-stage, pinned bases, non-root, ports, entry), the build context, and the very bundle each image
 * runs, built by the same script and started with plain `node` until it reports SERVING.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { checkHealth, DEFAULT_PORTS, waitForServing } from '@vanelia/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { bundleService } from '../../tools/helm/bundle-service.mjs';
import { CHART_DIR, REPO_ROOT, SERVICES, type Service } from './chart';

interface Stage {
  name?: string;
  base: string;
  instructions: { op: string; args: string }[];
}

/** FROM-separated stages of a Dockerfile, with ARG defaults substituted into FROM lines. */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/);
    const argText = rest.join(' ');
    if (op.toUpperCase() === 'ARG' && stages.length === 0) {
      const [name, value] = argText.split('=');
      args[name] = value ?? '';
    } else if (op.toUpperCase() === 'FROM') {
      const [image, as, name] = argText.split(/\s+/);
      const base = image.replace(/\$\{(\w+)\}/g, (_, n: string) => args[n] ?? '');
      stages.push({ base, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args: argText });
    }
  }
  return stages;
}

const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8'));
const dockerfile = (service: Service) => join(REPO_ROOT, 'services', service, 'Dockerfile');
const GPU_SERVICES = new Set(['pose', 'inpaint']);
/** The stages that become images: the cpu and cuda12 targets, or the last stage. */
function imageStages(service: Service, stages: Stage[]): Stage[] {
  return GPU_SERVICES.has(service) ? ['cpu', 'cuda12'].map((t) => stages.find((s) => s.name === t)!) : [stages.at(-1)!];
}

describe.each(SERVICES)('%s Dockerfile', (service) => {
  const stages = parseDockerfile(readFileSync(dockerfile(service), 'utf8'));

  it('builds in stages from bases pinned by exact version or digest', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages.find((s) => s.name === 'build')!;
    expect(build.instructions.filter((i) => i.op === 'RUN').map((i) => i.args)).toEqual([`sh tools/helm/image-build.sh bundle ${service}`]);
    const names = new Set(stages.map((s) => s.name).filter(Boolean));
    for (const stage of stages) {
      if (names.has(stage.base)) continue;
      expect(stage.base, stage.name).toMatch(/@sha256:[a-f0-9]{64}$|:\d+\.\d+\.\d+[^:]*$/);
      expect(stage.base).not.toMatch(/:latest$/);
    }
  });

  it('runs the bundle as the chart\'s non-root user on the ports the runtime and chart use', () => {
    const expectedUser = `${values.common.podSecurityContext.runAsUser}:${values.common.podSecurityContext.runAsGroup}`;
    for (const stage of imageStages(service, stages)) {
      expect(stage, `${service} image stage`).toBeDefined();
      const of = (op: string) => stage.instructions.filter((i) => i.op === op).map((i) => i.args);
      expect(of('USER').at(-1), stage.name).toBe(expectedUser);
      expect(JSON.parse(of('CMD').at(-1)!)).toEqual(['node', '--enable-source-maps', `dist/${service}.mjs`]);
      const exposed = of('EXPOSE').flatMap((a) => a.split(/\s+/)).map(Number);
      expect(exposed).toEqual(expect.arrayContaining([DEFAULT_PORTS[service], values.services[service].port, values.common.metricsPort]));
      expect(of('ENV').join(' ')).toContain('VANELIA_ROOT=/app');
      expect(of('COPY')).toContain('proto ./proto');
      expect(of('RUN').join(' ')).not.toMatch(/\bnpm (ci|install)\b/); // installs belong to the build stage
    }
  });
});

describe.each(['pose', 'inpaint'] as const)('%s GPU image', (service) => {
  it('runs on CUDA 12 with onnxruntime-node\'s CUDA and TensorRT providers installed at build time', () => {
    const stages = parseDockerfile(readFileSync(dockerfile(service), 'utf8'));
    const cuda = stages.find((s) => s.name === 'cuda12')!;
    expect(cuda.base).toMatch(/^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-/);
    const builder = stages.find((s) => s.name === 'build-cuda12')!;
    expect(builder.base).toBe('build');
    expect(builder.instructions.filter((i) => i.op === 'RUN').map((i) => i.args)).toEqual(['sh tools/helm/image-build.sh cuda12']);
    const copies = cuda.instructions.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=build-cuda12 /src/node_modules ./node_modules');
  });
});

/** Docker's .dockerignore semantics (last matching line wins, `!` re-includes, a match excludes a folder's contents). */
function dockerIgnored(patterns: string[], path: string): boolean {
  const toRegex = (p: string) =>
    new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\/?/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\u0000/g, '(?:.*/)?')}$`);
  const parents = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const regex = toRegex((negate ? raw.slice(1) : raw).replace(/^\/|\/$/g, ''));
    if (parents.some((p) => regex.test(p))) ignored = !negate;
  }
  return ignored;
}

describe('tools/helm/image-build.sh (the build stage)', () => {
  const script = readFileSync(join(REPO_ROOT, 'tools', 'helm', 'image-build.sh'), 'utf8');
  it('parses, refuses unknown commands, and installs runtime dependencies only after bundling', () => {
    expect(spawnSync('sh', ['-n', 'tools/helm/image-build.sh'], { cwd: REPO_ROOT }).status).toBe(0);
    const usage = spawnSync('sh', ['tools/helm/image-build.sh', 'deploy'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect([usage.status, usage.stderr]).toEqual([2, 'usage: image-build.sh bundle <service> | cuda12\n']);
    const order = ['npm ci --no-audit', 'bundle-service.mjs "$service"', 'npm ci --omit=dev'].map((s) => script.indexOf(s));
    expect(order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1]))).toBe(true);
  });

  it('installs onnxruntime-node\'s CUDA 12 providers on purpose and fails when one is missing', () => {
    expect(script).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js');
    expect(script).toContain('for lib in cuda shared tensorrt; do');
    expect(script).toMatch(/\[ -s "\$file" \] \|\| \{ echo .* exit 1; \}/);
  });
});

describe('.dockerignore', () => {
  const patterns = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  it('keeps what the builds read and leaves out installs, history and tests', () => {
    const needed = ['package.json', 'package-lock.json', '.npmrc', 'proto/vanelia/v1/frames.proto', 'tools/helm/bundle-service.mjs', 'tools/helm/image-build.sh',
      'packages/runtime/package.json', 'packages/runtime/src/index.ts', ...SERVICES.map((s) => `services/${s}/src/main.ts`)];
    for (const path of needed) {
      expect(existsSync(join(REPO_ROOT, path)), path).toBe(true);
      expect(dockerIgnored(patterns, path), path).toBe(false);
    }
    for (const path of ['node_modules/sharp/package.json', 'packages/runtime/node_modules/x', '.git/HEAD', 'services/pose/test/a.test.ts', 'test/deploy/chart.ts', 'tools/export/x.py', 'dist/gateway.mjs']) {
      expect(dockerIgnored(patterns, path), path).toBe(true);
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('service bundles (what each image runs)', () => {
  // Inside the repository so that the bundles' package imports resolve from node_modules, as in /app.
  const outdir = join(REPO_ROOT, 'node_modules', '.cache', 'vanelia-bundles', 'dist');
  const children: ReturnType<typeof spawn>[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it.each(SERVICES)('%s bundles, starts with plain node, reports SERVING and drains on SIGTERM', async (service) => {
    const { outfile, packages } = await bundleService(service, outdir);
    expect(packages.some((p) => p.startsWith('@vanelia/'))).toBe(false);
    const [port, metricsPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, ['--enable-source-maps', relative(REPO_ROOT, outfile)], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        VANELIA_HOST: '127.0.0.1',
        VANELIA_PORT: String(port),
        VANELIA_METRICS_PORT: String(metricsPort),
        VANELIA_STORAGE_ROOT: mkdtempSync(join(tmpdir(), `vanelia-${service}-`)),
        VANELIA_LOG_LEVEL: 'warn',
        VANELIA_SHUTDOWN_GRACE_MS: '5000',
        VANELIA_ROOT: REPO_ROOT,
        // The compositor's frame pool starts from frame-worker.mjs beside the bundle (off by default on 2 cores).
        ...(service === 'compositor' ? { VANELIA_COMPOSITOR_WORKERS: '1' } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitForServing(`127.0.0.1:${port}`, 30_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${output}`);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`vanelia_service_ready\\{service="${service}"\\} 1`));
    expect(output).not.toContain('frame pool unavailable');
    child.kill('SIGTERM');
    expect(await exited, output).toBe(0);
    await expect(checkHealth(`127.0.0.1:${port}`, '', 500)).rejects.toThrow();
  });
});
