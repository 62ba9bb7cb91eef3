// RFC 7541 Appendix B Huffman decoding. The code is canonical (codes are assigned in order of
// (length, symbol)), so the table is derived from the code lengths alone; the tests check the
// derived codes against entries of Appendix B. Decoding runs a 4-bit (nibble) state machine: each
// state is an internal node of the code tree and every nibble emits at most one symbol, because
// the shortest code is 5 bits long.

/** Code length in bits of symbols 0..255 and EOS (256), RFC 7541 Appendix B. */
const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

const EOS = 256;

/** Canonical codes, index = symbol (0..256), value = code right-aligned in CODE_LENGTHS[symbol] bits. */
export const HUFFMAN_CODES: readonly number[] = (() => {
  const order = CODE_LENGTHS.map((_, sym) => sym).sort((a, b) => CODE_LENGTHS[a]! - CODE_LENGTHS[b]! || a - b);
  const codes = new Array<number>(CODE_LENGTHS.length).fill(0);
  let code = 0;
  let prevLength = CODE_LENGTHS[order[0]!]!;
  for (const sym of order) {
    const length = CODE_LENGTHS[sym]!;
    code *= 2 ** (length - prevLength);
    prevLength = length;
    codes[sym] = code;
    code += 1;
  }
  return codes;
})();

export const HUFFMAN_CODE_LENGTHS = CODE_LENGTHS;

const NO_SYMBOL = -1;
const FAIL = -2;

interface NibbleMachine {
  /** next internal node after (state, nibble); index state * 16 + nibble. */
  next: Uint16Array;
  /** symbol emitted by (state, nibble), NO_SYMBOL, or FAIL (EOS decoded: a decoding error). */
  emit: Int16Array;
  /** 1 when ending in this state is valid padding (root, or a run of at most 7 one-bits). */
  accepting: Uint8Array;
}

function buildMachine(): NibbleMachine {
  // Tree: internal node i has children child[2i] (bit 0) and child[2i+1] (bit 1);
  // a child >= 0 is an internal node, a child < 0 is the leaf -(symbol + 1).
  const child: number[] = [0, 0];
  const depth: number[] = [0];
  const allOnes: boolean[] = [true];
  for (let sym = 0; sym < CODE_LENGTHS.length; sym++) {
    const length = CODE_LENGTHS[sym]!;
    const code = HUFFMAN_CODES[sym]!;
    let node = 0;
    for (let i = length - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) % 2;
      const slot = node * 2 + bit;
      if (i === 0) {
        child[slot] = -(sym + 1);
      } else {
        if (!child[slot]) {
          const id = depth.length;
          depth.push(depth[node]! + 1);
          allOnes.push(allOnes[node]! && bit === 1);
          child.push(0, 0);
          child[slot] = id;
        }
        node = child[slot]!;
      }
    }
  }
  const states = depth.length;
  const next = new Uint16Array(states * 16);
  const emit = new Int16Array(states * 16);
  const accepting = new Uint8Array(states);
  for (let s = 0; s < states; s++) {
    accepting[s] = allOnes[s]! && depth[s]! <= 7 ? 1 : 0;
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = s;
      let out = NO_SYMBOL;
      for (let i = 3; i >= 0; i--) {
        const c = child[node * 2 + ((nibble >> i) & 1)]!;
        if (c < 0) {
          const sym = -c - 1;
          if (sym === EOS) { out = FAIL; node = 0; break; }
          out = sym;
          node = 0;
        } else {
          node = c;
        }
      }
      next[s * 16 + nibble] = node;
      emit[s * 16 + nibble] = out;
    }
  }
  return { next, emit, accepting };
}

const MACHINE = buildMachine();

/** Upper bound of decoded bytes for `encodedLength` Huffman-coded bytes (shortest code: 5 bits). */
export function huffmanDecodedMaxLength(encodedLength: number): number {
  return Math.floor((encodedLength * 8) / 5) + 1;
}

/**
 * Decodes src[start, end) into out (sized with huffmanDecodedMaxLength). Returns the number of
 * bytes written, or -1 when the input is not valid HPACK Huffman (EOS inside, or padding longer
 * than 7 bits or not all ones).
 */
export function decodeHuffman(src: Uint8Array, start: number, end: number, out: Uint8Array): number {
  const { next, emit, accepting } = MACHINE;
  let state = 0;
  let n = 0;
  for (let i = start; i < end; i++) {
    const byte = src[i]!;
    let t = state * 16 + (byte >> 4);
    let sym = emit[t]!;
    if (sym !== NO_SYMBOL) {
      if (sym === FAIL) return -1;
      out[n++] = sym;
    }
    state = next[t]!;
    t = state * 16 + (byte & 15);
    sym = emit[t]!;
    if (sym !== NO_SYMBOL) {
      if (sym === FAIL) return -1;
      out[n++] = sym;
    }
    state = next[t]!;
  }
  return accepting[state] ? n : -1;
}
