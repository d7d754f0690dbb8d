/**
 * CLIP's byte-level BPE tokenizer (the SD 1.x text encoder's), as transformers' CLIPTokenizer does it without
 * ftfy: NFC, control characters dropped, whitespace collapsed, CJK characters split, lower case, CLIP's
 * pre-tokenizer regex, BPE by merge rank with `</w>` on a word's last symbol, then ids framed by
 * <|startoftext|> … <|endoftext|> and padded to the context length.
 */
import { bytesToUnicode } from './byte-encoder';

export const CLIP_CONTEXT_LENGTH = 77;

const PRETOKENIZE = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;
const CONTROL = /[\p{Cc}\p{Cf}]/gu;
// CJK ideograph blocks, as BERT's basic tokenizer (which transformers' CLIPTokenizer uses) splits them.
const CJK = /([\u4e00-\u9fff\u3400-\u4dbf\u{20000}-\u{2a6df}\u{2a700}-\u{2b73f}\u{2b740}-\u{2b81f}\u{2b820}-\u{2ceaf}\uf900-\ufaff\u{2f800}-\u{2fa1f}])/gu;

export interface ClipTokenizerOptions {
  /** Ids a prompt is framed in, and padded to (default 77). */
  contextLength?: number;
  /** Padding token (default: the end-of-text id, as SD 1.x's tokenizer config sets). */
  padToken?: string;
}

export class ClipTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly contextLength: number;
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, string[]>();
  private readonly byteEncoder = bytesToUnicode();

  /**
   * @param vocab token -> id
   * @param merges merge pairs in rank order, each "a b"
   */
  constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    merges: readonly string[],
    options: ClipTokenizerOptions = {},
  ) {
    this.ranks = new Map(merges.map((m, i) => [m, i]));
    const id = (token: string): number => {
      const v = vocab.get(token);
      if (v === undefined) throw new Error(`the vocabulary has no ${token}`);
      return v;
    };
    this.bosId = id('<|startoftext|>');
    this.eosId = id('<|endoftext|>');
    this.padId = id(options.padToken ?? '<|endoftext|>');
    this.contextLength = options.contextLength ?? CLIP_CONTEXT_LENGTH;
  }

  get vocabSize(): number {
    return this.vocab.size;
  }

  /** token -> id, as transformers' vocab.json holds it. */
  vocabulary(): ReadonlyMap<string, number> {
    return this.vocab;
  }

  /** Normalised text, as the reference cleans it before the regex. */
  static clean(text: string): string {
    return text
      .normalize('NFC')
      .replace(/[\t\n\r]/g, ' ')
      .replace(CONTROL, '')
      .replace(CJK, ' $1 ')
      .replace(/\s+/gu, ' ')
      .trim()
      .toLowerCase();
  }

  private bpe(token: string): string[] {
    const cached = this.cache.get(token);
    if (cached) return cached;
    let word = [...token];
    word[word.length - 1] += '</w>';
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const rank = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      const [first, second] = [word[best], word[best + 1]];
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i < word.length - 1 && word[i] === first && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else {
          merged.push(word[i]);
          i += 1;
        }
      }
      word = merged;
    }
    if (this.cache.size < 10_000) this.cache.set(token, word);
    return word;
  }

  /** Token ids of the text without framing or truncation. */
  tokenize(text: string): number[] {
    const ids: number[] = [];
    const encoder = new TextEncoder();
    for (const match of ClipTokenizer.clean(text).matchAll(PRETOKENIZE)) {
      const piece = match[0];
      if (piece === '<|startoftext|>' || piece === '<|endoftext|>') {
        ids.push(this.vocab.get(piece)!);
        continue;
      }
      const symbols = Array.from(encoder.encode(piece), (b) => this.byteEncoder[b]).join('');
      for (const token of this.bpe(symbols)) {
        const id = this.vocab.get(token);
        if (id !== undefined) ids.push(id);
      }
    }
    return ids;
  }

  /** <|startoftext|> ids <|endoftext|>, truncated to the context length (the end marker kept), not padded. */
  encode(text: string): number[] {
    const body = this.tokenize(text).slice(0, this.contextLength - 2);
    return [this.bosId, ...body, this.eosId];
  }

  /** `encode`, padded with the pad id to exactly the context length. */
  encodePadded(text: string): number[] {
    const ids = this.encode(text);
    while (ids.length < this.contextLength) ids.push(this.padId);
    return ids;
  }
}
