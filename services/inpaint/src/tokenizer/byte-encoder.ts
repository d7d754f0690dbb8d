/**
 * GPT-2/CLIP's reversible byte-to-unicode table: printable Latin-1 bytes map to themselves, the other bytes to
 * code points from 256 upwards, so every byte sequence becomes a string BPE can work on.
 */

function printableBytes(): number[] {
  const out: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) out.push(b);
  for (let b = 0xa1; b <= 0xac; b++) out.push(b);
  for (let b = 0xae; b <= 0xff; b++) out.push(b);
  return out;
}

let table: string[] | undefined;
let order: number[] | undefined;

/** Byte values in the reference's order: printable ones first, then the rest ascending. */
function byteOrder(): number[] {
  if (order) return order;
  const printable = printableBytes();
  const set = new Set(printable);
  order = [...printable, ...Array.from({ length: 256 }, (_, b) => b).filter((b) => !set.has(b))];
  return order;
}

/** Symbol of each byte value 0..255. */
export function bytesToUnicode(): string[] {
  if (table) return table;
  const out = new Array<string>(256);
  const printable = new Set(printableBytes());
  let extra = 0;
  for (const b of byteOrder()) out[b] = String.fromCodePoint(printable.has(b) ? b : 256 + extra++);
  table = out;
  return out;
}

/** The byte symbols in the order CLIP's vocabulary gives them ids 0..255. */
export function byteSymbolsInVocabOrder(): string[] {
  const symbols = bytesToUnicode();
  return byteOrder().map((b) => symbols[b]);
}
