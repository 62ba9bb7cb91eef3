// Tokenizer for the OTTL condition subset. Positions are 0-based offsets into the source; error
// messages print them 1-based as "column N" with the offending text.

export type TokenKind = 'string' | 'int' | 'float' | 'bytes' | 'ident' | 'op' | 'eof';
export interface Token { kind: TokenKind; text: string; pos: number; value?: string | bigint | number | Uint8Array }

export class OttlSyntaxError extends Error {
  constructor(readonly source: string, readonly pos: number, detail: string) {
    super(`${detail} at column ${pos + 1} of ${JSON.stringify(source)}`);
    this.name = 'OttlSyntaxError';
  }
}

const OPERATORS = ['==', '!=', '<=', '>=', '<', '>', '+', '-', '*', '/', '(', ')', '[', ']', ',', '.'];
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', n: '\n', t: '\t', r: '\r' };

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    const start = i;
    if (c === '"') {
      let out = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new OttlSyntaxError(src, start, 'unterminated string literal');
        const d = src[i]!;
        if (d === '"') { i++; break; }
        if (d === '\\') {
          const e = ESCAPES[src[i + 1] ?? ''];
          if (e === undefined) throw new OttlSyntaxError(src, i, `unknown escape "\\${src[i + 1] ?? ''}" in string`);
          out += e;
          i += 2;
          continue;
        }
        out += d;
        i++;
      }
      tokens.push({ kind: 'string', text: src.slice(start, i), pos: start, value: out });
      continue;
    }
    const hex = /^0x([0-9a-fA-F]*)/.exec(src.slice(i));
    if (hex) {
      if (hex[1]!.length % 2 !== 0) throw new OttlSyntaxError(src, start, 'bytes literal needs an even number of hex digits');
      i += hex[0].length;
      tokens.push({ kind: 'bytes', text: hex[0], pos: start, value: Uint8Array.from(Buffer.from(hex[1]!, 'hex')) });
      continue;
    }
    const num = /^(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?/.exec(src.slice(i));
    if (num) {
      i += num[0].length;
      const isFloat = num[0].includes('.') || num[2] !== undefined;
      tokens.push(isFloat
        ? { kind: 'float', text: num[0], pos: start, value: Number(num[0]) }
        : { kind: 'int', text: num[0], pos: start, value: BigInt(num[0]) });
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (ident) {
      i += ident[0].length;
      tokens.push({ kind: 'ident', text: ident[0], pos: start });
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (!op) throw new OttlSyntaxError(src, start, `unexpected character ${JSON.stringify(c)}`);
    i += op.length;
    tokens.push({ kind: 'op', text: op, pos: start });
  }
  tokens.push({ kind: 'eof', text: '', pos: src.length });
  return tokens;
}
