#!/usr/bin/env node
/**
 * Bundles one service for its image: services/<service>/src/main.ts -> <outdir>/<service>.mjs with
 * esbuild (--bundle --platform=node --format=esm --packages=external). The workspace packages
 * (@vanelia/*) point at TypeScript sources, so they are bundled in (worker-thread entries, such as the
 * compositor's frame worker, become sibling .mjs files); every other package stays an import
 * and must be a runtime dependency of the root package.json, because images install with
 * `npm ci --omit=dev`. The Dockerfiles and test/deploy/images.test.ts both run this.
 *
 *   node tools/helm/bundle-service.mjs <service> [--outdir dist]
 */
import { build } from 'esbuild';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SERVICES = ['decoder', 'pose', 'compositor', 'inpaint', 'gateway'];

/** Entries a service starts beside its main bundle (worker threads), bundled next to it under these names. */
const WORKER_ENTRIES = {
  compositor: { 'frame-worker': 'services/compositor/src/frame-worker.ts' },
};

/** @vanelia/<name> -> { dir, exports } for every workspace package. */
function workspacePackages() {
  const out = new Map();
  for (const parent of ['packages', 'services']) {
    for (const entry of readdirSync(join(REPO_ROOT, parent))) {
      const file = join(REPO_ROOT, parent, entry, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8'));
      out.set(pkg.name, { dir: dirname(file), exports: pkg.exports ?? {} });
    }
  }
  return out;
}

/** Resolves `@vanelia/x[/sub]` through the package's `exports` map to its TypeScript source. */
function workspacePlugin(packages) {
  return {
    name: 'vanelia-workspace',
    setup(b) {
      b.onResolve({ filter: /^@vanelia\// }, (args) => {
        const [scope, name, ...rest] = args.path.split('/');
        const pkg = packages.get(`${scope}/${name}`);
        if (!pkg) return { errors: [{ text: `${args.path} is not a workspace package` }] };
        const subpath = rest.length > 0 ? `./${rest.join('/')}` : '.';
        const target = typeof pkg.exports === 'string' && subpath === '.' ? pkg.exports : pkg.exports[subpath];
        if (typeof target !== 'string') return { errors: [{ text: `${args.path}: "${subpath}" is not exported by ${pkg.dir}/package.json` }] };
        return { path: join(pkg.dir, target) };
      });
    },
  };
}

/** The package name of a bare import (`@scope/name/x` -> `@scope/name`). */
function packageOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Bundles `service`; returns the output file and the packages it imports at run time. */
export async function bundleService(service, outdir = join(REPO_ROOT, 'dist')) {
  if (!SERVICES.includes(service)) throw new Error(`bundle: unknown service "${service}" (one of ${SERVICES.join(', ')})`);
  const entry = join(REPO_ROOT, 'services', service, 'src', 'main.ts');
  if (!existsSync(entry)) throw new Error(`bundle: ${entry} does not exist`);
  const outfile = join(outdir, `${service}.mjs`);
  const workers = Object.fromEntries(Object.entries(WORKER_ENTRIES[service] ?? {}).map(([name, path]) => [name, join(REPO_ROOT, path)]));
  const result = await build({
    entryPoints: { [service]: entry, ...workers },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    plugins: [workspacePlugin(workspacePackages())],
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    absWorkingDir: REPO_ROOT,
  });
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const imported = new Set();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imp of output.imports) {
      if (imp.external && !builtins.has(imp.path) && !imp.path.startsWith('node:')) imported.add(packageOf(imp.path));
    }
  }
  const rootPackage = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
  const runtime = new Set(Object.keys(rootPackage.dependencies ?? {}));
  const missing = [...imported].filter((name) => !runtime.has(name)).sort();
  if (missing.length > 0) {
    throw new Error(
      `bundle: ${service} imports ${missing.join(', ')} at run time, but the root package.json lists ` +
        `${missing.length === 1 ? 'it' : 'them'} outside "dependencies" (images install with npm ci --omit=dev).`,
    );
  }
  return { outfile, packages: [...imported].sort() };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [service, ...rest] = process.argv.slice(2);
  const outdirFlag = rest.indexOf('--outdir');
  const outdir = outdirFlag >= 0 ? resolve(rest[outdirFlag + 1]) : undefined;
  bundleService(service, outdir).then(
    ({ outfile, packages }) => process.stdout.write(`${outfile}\nruntime packages: ${packages.join(' ')}\n`),
    (error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    },
  );
}
