import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedDataDir, sharedDataFile } from '@vanelia/runtime/test-data';
import { loadClipTokenizer, openAiMerges, tokenizerFromOpenAiMerges, OPENAI_BPE_FILE } from '../src/tokenizer/tokenizer-files';
import { ClipTokenizer } from '../src/tokenizer/clip-tokenizer';

/**
 * Reference ids. Published by other projects' tests, computed there with transformers'
 * CLIPTokenizer (openai/clip-vit-base-patch32, the same BPE as SD 1.x's) or open_clip's SimpleTokenizer.
 */
const REFERENCE: [string, number[]][] = [
  ['a photo of a cat', [49406, 320, 1125, 539, 320, 2368, 49407]],
  ['a diagram', [49406, 320, 22697, 49407]],
  ['a dog', [49406, 320, 1929, 49407]],
  ['a photo of a waterfall', [49406, 320, 1125, 539, 320, 16403, 49407]],
  ['dog on a beach', [49406, 1929, 525, 320, 2117, 49407]],
  ['mobileclip', [49406, 9451, 944, 8546, 49407]],
  ['hatbox', [49406, 3447, 2063, 49407]],
  ['hat box', [49406, 3801, 2063, 49407]],
  ['Hello,   WORLD!', [49406, 3306, 267, 1002, 256, 49407]],
  ['birthday cake 2024', [49406, 1166, 2972, 273, 271, 273, 275, 49407]],
  ['café', [49406, 15304, 49407]],
  ['🐶', [49406, 10631, 49407]],
  ['', [49406, 49407]],
  ['     ', [49406, 49407]],
  ["I can't believe it's not butter", [49406, 328, 753, 713, 2649, 585, 568, 783, 6952, 49407]],
  ['email: user@example.com', [49406, 4462, 281, 7031, 287, 6228, 269, 2464, 49407]],
  ['MacBook Pro 16-inch', [49406, 20617, 2630, 272, 277, 268, 6523, 49407]],
  ['3.14 is pi', [49406, 274, 269, 272, 275, 533, 5357, 49407]],
  ['person working at a computer', [49406, 2533, 1699, 536, 320, 11639, 652, 49407]],
  ['code editor with syntax highlighting', [49406, 3217, 7661, 593, 3758, 3879, 17344, 49407]],
];

const shared = () => loadClipTokenizer(join(sharedDataDir(), 'clip-bpe'));

describe('CLIP tokenizer', () => {
  it('matches the reference ids on 20 prompts (OpenAI merges file)', () => {
    const tokenizer = shared();
    expect(tokenizer.vocabSize).toBe(49408);
    for (const [prompt, ids] of REFERENCE) expect([prompt, tokenizer.encode(prompt)]).toEqual([prompt, ids]);
  });

  it('reads transformers-style vocab.json + merges.txt the same way, with the pad token from the config', () => {
    const gz = readFileSync(sharedDataFile('clip-bpe', OPENAI_BPE_FILE));
    const fromGz = tokenizerFromOpenAiMerges(gz);
    // Write the transformers files a model folder carries (in a temp folder, built from the shared merges).
    const dir = mkdtempSync(join(tmpdir(), 'vanelia-tokenizer-'));
    const lines = ['#version: 0.2', ...openAiMerges(gz)];
    writeFileSync(join(dir, 'merges.txt'), lines.join('\n') + '\n');
    writeFileSync(join(dir, 'vocab.json'), JSON.stringify(Object.fromEntries(fromGz.vocabulary())));
    writeFileSync(join(dir, 'special_tokens_map.json'), JSON.stringify({ pad_token: { content: '!' } }));
    const tokenizer = loadClipTokenizer(dir);
    for (const [prompt, ids] of REFERENCE) expect(tokenizer.encode(prompt)).toEqual(ids);
    expect(tokenizer.padId).toBe(0);
    expect(fromGz.padId).toBe(49407);
  });

  it('pads to 77 with the end-of-text id and truncates long prompts keeping the end marker', () => {
    const tokenizer = shared();
    const padded = tokenizer.encodePadded('a photo of a cat');
    expect(padded).toHaveLength(77);
    expect(padded.slice(0, 7)).toEqual(REFERENCE[0][1]);
    expect(padded.slice(7).every((id) => id === 49407)).toBe(true);
    const long = tokenizer.encodePadded('waterfall '.repeat(200));
    expect(long).toHaveLength(77);
    expect(long[0]).toBe(49406);
    expect(long[76]).toBe(49407);
    expect(long.slice(1, 76).every((id) => id === 16403)).toBe(true);
  });

  it('cleans text like the reference: control characters, CJK, case and whitespace', () => {
    expect(ClipTokenizer.clean('  A\tB\u0000C  ')).toBe('a bc');
    expect(ClipTokenizer.clean('猫と犬')).toBe('猫 と 犬');
  });

  it('says which files it looked for when a folder has no tokenizer', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vanelia-empty-'));
    expect(() => loadClipTokenizer(dir)).toThrow(/inpaint: .* has no tokenizer \(vocab\.json \+ merges\.txt, or bpe_simple_vocab_16e6\.txt\.gz\)\./);
    writeFileSync(join(dir, 'vocab.json'), '{');
    writeFileSync(join(dir, 'merges.txt'), '');
    expect(() => loadClipTokenizer(dir)).toThrow(/inpaint: the tokenizer in .* cannot be read/);
  });
});
