/**
 * Loads the CLIP tokenizer from a model folder: transformers' `vocab.json` + `merges.txt` (what the export
 * script writes), or OpenAI's `bpe_simple_vocab_16e6.txt.gz` merges file, from which the vocabulary is rebuilt.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { VaneliaError } from '@vanelia/runtime';
import { byteSymbolsInVocabOrder } from './byte-encoder';
import { ClipTokenizer, type ClipTokenizerOptions } from './clip-tokenizer';

export const OPENAI_BPE_FILE = 'bpe_simple_vocab_16e6.txt.gz';
/** CLIP's vocabulary: 512 byte symbols, 48,894 merges, 2 special tokens. */
const OPENAI_MERGE_COUNT = 49152 - 256 - 2;

function mergeLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0 && !l.startsWith('#version'));
}

/** The merges of OpenAI's gzipped merges file, in rank order. */
export function openAiMerges(gzipped: Uint8Array): string[] {
  const lines = gunzipSync(gzipped).toString('utf8').split('\n');
  return lines.slice(1, 1 + OPENAI_MERGE_COUNT).map((l) => l.trimEnd());
}

/** A tokenizer from OpenAI's gzipped merges file (vocabulary rebuilt as CLIP's SimpleTokenizer does). */
export function tokenizerFromOpenAiMerges(gzipped: Uint8Array, options?: ClipTokenizerOptions): ClipTokenizer {
  const merges = openAiMerges(gzipped);
  const bytes = byteSymbolsInVocabOrder();
  const tokens = [...bytes, ...bytes.map((b) => `${b}</w>`), ...merges.map((m) => m.split(' ').join('')), '<|startoftext|>', '<|endoftext|>'];
  return new ClipTokenizer(new Map(tokens.map((t, i) => [t, i])), merges, options);
}

/** A tokenizer from transformers' files. */
export function tokenizerFromVocabAndMerges(vocabJson: string, mergesTxt: string, options?: ClipTokenizerOptions): ClipTokenizer {
  const vocab = JSON.parse(vocabJson) as Record<string, number>;
  return new ClipTokenizer(new Map(Object.entries(vocab)), mergeLines(mergesTxt), options);
}

function padTokenOf(dir: string): string | undefined {
  for (const name of ['special_tokens_map.json', 'tokenizer_config.json']) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    const pad = (JSON.parse(readFileSync(file, 'utf8')) as { pad_token?: string | { content?: string } }).pad_token;
    if (typeof pad === 'string') return pad;
    if (pad && typeof pad.content === 'string') return pad.content;
  }
  return undefined;
}

/** The tokenizer in `dir`; throws a VaneliaError naming the files it looked for. */
export function loadClipTokenizer(dir: string): ClipTokenizer {
  try {
    const vocab = join(dir, 'vocab.json');
    const merges = join(dir, 'merges.txt');
    const padToken = padTokenOf(dir);
    if (existsSync(vocab) && existsSync(merges)) {
      return tokenizerFromVocabAndMerges(readFileSync(vocab, 'utf8'), readFileSync(merges, 'utf8'), { padToken });
    }
    const openai = join(dir, OPENAI_BPE_FILE);
    if (existsSync(openai)) return tokenizerFromOpenAiMerges(readFileSync(openai), { padToken });
  } catch (error) {
    throw new VaneliaError('inpaint', 'INVALID_TOKENIZER', `the tokenizer in ${dir} cannot be read: ${(error as Error).message}.`, {
      code: 'FAILED_PRECONDITION',
      cause: error,
    });
  }
  throw new VaneliaError(
    'inpaint',
    'TOKENIZER_MISSING',
    `${dir} has no tokenizer (vocab.json + merges.txt, or ${OPENAI_BPE_FILE}).`,
    { code: 'FAILED_PRECONDITION' },
  );
}
