#!/usr/bin/env node
// Regenerates packages/proto/src/gen from proto/ with buf + ts-proto.
// `--check` generates into a temporary folder and fails when the committed code differs (stale).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const buf = join(root, 'node_modules', '.bin', 'buf');
const genDir = 'packages/proto/src/gen';

function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

execFileSync(buf, ['lint'], { cwd: root, stdio: 'inherit' });
if (!process.argv.includes('--check')) {
  execFileSync(buf, ['generate'], { cwd: root, stdio: 'inherit' });
  console.log(`generated ${genDir}`);
} else {
  const tmp = mkdtempSync(join(tmpdir(), 'vanelia-gen-'));
  try {
    execFileSync(buf, ['generate', '-o', tmp], { cwd: root, stdio: 'inherit' });
    const fresh = join(tmp, genDir);
    const committed = join(root, genDir);
    const a = listFiles(fresh);
    const b = listFiles(committed);
    const stale = [
      ...a.filter((f) => !b.includes(f) || readFileSync(join(fresh, f), 'utf8') !== readFileSync(join(committed, f), 'utf8')),
      ...b.filter((f) => !a.includes(f)),
    ];
    if (stale.length > 0) {
      console.error(`generated code is stale (run npm run gen): ${stale.join(', ')}`);
      process.exit(1);
    }
    console.log('generated code is up to date');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
