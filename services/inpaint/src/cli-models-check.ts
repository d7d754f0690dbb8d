/**
 * `vanelia models check DIR [--load] [--provider LIST] [--json]`: the CLI side of the model folder check.
 * The lead wires `modelsCheckCommand` into the vanelia CLI; run directly it works on its own too:
 *   npx tsx services/inpaint/src/cli-models-check.ts DIR
 * Exit code 0 when the folder is usable, 1 when it has problems, 2 on a usage error.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseProviderList } from '@vanelia/onnx';
import { checkModelFolder, formatModelCheck } from './models/model-check';

export const MODELS_CHECK_USAGE = `usage: vanelia models check DIR [--load] [--provider cpu,webgpu,...] [--json]
  checks an inpaint model folder: manifest, files, opsets, input/output names, dtypes and shapes, tokenizer
  --load       also load every model into onnxruntime (slow for full-size models)
  --provider   providers for --load, tried in order (default cpu)
  --json       print the report as JSON`;

export interface CommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo: CommandIo = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') };

/** Runs the command on `argv` (the words after `models check`); resolves to the exit code. */
export async function modelsCheckCommand(argv: readonly string[], io: CommandIo = defaultIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { load: { type: 'boolean' }, provider: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n${MODELS_CHECK_USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    io.out(MODELS_CHECK_USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    io.err(`expected one model folder, got ${parsed.positionals.length}\n${MODELS_CHECK_USAGE}`);
    return 2;
  }
  let providers;
  try {
    providers = parseProviderList(parsed.values.provider ?? 'cpu');
  } catch (error) {
    io.err(`${(error as Error).message}\n${MODELS_CHECK_USAGE}`);
    return 2;
  }
  const report = await checkModelFolder(parsed.positionals[0], { load: parsed.values.load ?? false, providers });
  if (parsed.values.json) io.out(JSON.stringify({ ...report, manifest: undefined }, null, 2));
  else for (const line of formatModelCheck(report)) io.out(line);
  return report.ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await modelsCheckCommand(process.argv.slice(2));
}
