import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelBuilder } from '@vanelia/onnx';
import { checkModelFolder, formatModelCheck } from '../src/models/model-check';
import { ModelSet } from '../src/models/model-set';
import { modelsCheckCommand } from '../src/cli-models-check';
import type { TinyModelOptions } from '../src/models/tiny-models';
import { tinyFolder } from './fixtures';

/** A private copy of a tiny folder to break. */
function copyOf(options: TinyModelOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'vanelia-broken-'));
  cpSync(tinyFolder(options), dir, { recursive: true });
  return dir;
}

function editManifest(dir: string, edit: (m: Record<string, unknown>) => void): void {
  const file = join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(file, 'utf8'));
  edit(m);
  writeFileSync(file, JSON.stringify(m));
}

describe('checkModelFolder', () => {
  it('accepts the tiny folders (fp32, fp16 9-channel, fused ControlNet), also when loading them', async () => {
    const variants: TinyModelOptions[] = [{}, { precision: 'fp16', unetInChannels: 9 }, { controlnetFused: true }];
    for (const options of variants) {
      const report = await checkModelFolder(tinyFolder(options), { load: true });
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
    }
  });

  it('names a missing folder, manifest and bad manifest fields', async () => {
    expect((await checkModelFolder('/nonexistent/models')).problems).toEqual(['/nonexistent/models is not a folder']);
    const empty = mkdtempSync(join(tmpdir(), 'vanelia-nomanifest-'));
    expect((await checkModelFolder(empty)).problems).toEqual([`${join(empty, 'manifest.json')} is missing`]);
    const dir = copyOf();
    editManifest(dir, (m) => {
      m.precision = 'int4';
      delete (m.models as Record<string, string>).unet;
      m.residualChannels = [1, 2];
    });
    expect((await checkModelFolder(dir)).problems).toEqual([
      'manifest.json: precision is "int4", expected "fp16" or "fp32"',
      'manifest.json: models.unet is missing',
      'manifest.json: residualChannels is not a list of 12 positive integers',
    ]);
  });

  it('finds wrong files, names, precision, opset, missing weights and tokenizer', async () => {
    const dir = copyOf();
    // the ControlNet file where the UNet should be: wrong inputs and outputs
    copyFileSync(join(dir, 'controlnet/model.onnx'), join(dir, 'unet/model.onnx'));
    // an fp32 folder that claims fp16
    editManifest(dir, (m) => {
      m.precision = 'fp16';
      m.tokenizer = 'no-such-tokenizer';
    });
    // a VAE decoder from an old exporter (opset 11) whose weights live in a missing file
    const g = new ModelBuilder({ opset: 11 });
    const x = g.input('latent_sample', 'float32', ['batch', 4, 'h', 'w']);
    g.output(g.conv2d(x, 4, 3, 3), 'sample', 'float32', ['batch', 3, 'H', 'W']);
    writeFileSync(join(dir, 'vae_decoder/model.onnx'), g.buildWithExternalData('model.onnx_data', {}, 64).model);
    const report = await checkModelFolder(dir);
    expect(report.ok).toBe(false);
    const text = report.problems.join('\n');
    expect(text).toContain('unet (');
    expect(text).toMatch(/unet \(.*\) has no input "down_block_additional_residual_0"/);
    expect(text).toMatch(/unet \(.*\) has an unexpected input "controlnet_cond"/);
    expect(text).toMatch(/unet \(.*\) has no output "out_sample"/);
    expect(text).toMatch(/text_encoder \(.*\) has float32 tensors but the manifest says fp16/);
    expect(text).toMatch(/vae_decoder \(.*\) uses opset 11, expected 14 to 21 \(export with opset 17\)/);
    expect(text).toMatch(/vae_decoder \(.*\) keeps its weights in model\.onnx_data, which is missing beside it/);
    expect(text).toMatch(/no-such-tokenizer has no tokenizer/);
    expect(formatModelCheck(report)[0]).toMatch(/: \d+ problems$/);
  });

  it('reports a model file that is missing or not ONNX', async () => {
    const dir = copyOf();
    rmSync(join(dir, 'text_encoder/model.onnx'));
    writeFileSync(join(dir, 'vae_encoder/model.onnx'), 'not a model');
    const problems = (await checkModelFolder(dir)).problems;
    expect(problems[0]).toMatch(/^text_encoder model .*text_encoder\/model\.onnx is missing$/);
    expect(problems[1]).toMatch(/^vae_encoder model .*vae_encoder\/model\.onnx is not an ONNX model/);
  });

  it('makes ModelSet.open refuse a broken folder with every problem in one error', async () => {
    const dir = copyOf();
    rmSync(join(dir, 'controlnet/model.onnx'));
    await expect(ModelSet.open(dir)).rejects.toMatchObject({ reason: 'MODELS_INVALID', code: 'FAILED_PRECONDITION' });
  });
});

describe('vanelia models check (command)', () => {
  const capture = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
  };

  it('prints ok and exits 0 for a good folder, 1 with problems, 2 on usage errors', async () => {
    const good = capture();
    expect(await modelsCheckCommand([tinyFolder()], good.io)).toBe(0);
    expect(good.out[0]).toMatch(/: ok$/);
    const bad = capture();
    expect(await modelsCheckCommand(['/nonexistent', '--json'], bad.io)).toBe(1);
    expect(JSON.parse(bad.out.join('\n'))).toMatchObject({ ok: false, problems: ['/nonexistent is not a folder'] });
    const usage = capture();
    expect(await modelsCheckCommand([], usage.io)).toBe(2);
    expect(usage.err[0]).toMatch(/expected one model folder/);
    const provider = capture();
    expect(await modelsCheckCommand([tinyFolder(), '--provider', 'metal'], provider.io)).toBe(2);
    expect(provider.err[0]).toMatch(/unknown execution provider metal/);
  });
});
