#!/usr/bin/env node
// The `vanelia` command: runs the TypeScript CLI through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../packages/cli/src/main.ts');
await runCli(process.argv.slice(2));
