// Recursive-descent parser for OTTL boolean conditions. Precedence, loosest first:
// or, and, not, comparison (== != < <= > >=), + -, * /, unary minus, primary.
import { OttlSyntaxError, tokenize, type Token } from './lexer.js';

export type Literal = string | bigint | number | boolean | null | Uint8Array;
export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type MathOp = '+' | '-' | '*' | '/';

export interface PathSegment { name: string; keys: Array<string | bigint> }

export type Node =
  | { k: 'literal'; value: Literal; pos: number }
  | { k: 'path'; segments: PathSegment[]; pos: number; text: string }
  | { k: 'enum'; name: string; pos: number }
  | { k: 'call'; name: string; args: Node[]; pos: number }
  | { k: 'compare'; op: CompareOp; left: Node; right: Node; pos: number }
  | { k: 'math'; op: MathOp; left: Node; right: Node; pos: number }
  | { k: 'negate'; operand: Node; pos: number }
  | { k: 'and' | 'or'; left: Node; right: Node; pos: number }
  | { k: 'not'; operand: Node; pos: number };

const COMPARE_OPS = new Set(['==', '!=', '<', '<=', '>', '>=']);
const KEYWORDS = new Set(['and', 'or', 'not', 'true', 'false', 'nil']);
const ENUM_NAME = /^[A-Z][A-Z0-9_]*$/;

class Parser {
  private i = 0;
  constructor(private readonly src: string, private readonly tokens: Token[]) {}

  private peek(offset = 0): Token { return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)]!; }
  private next(): Token { return this.tokens[this.i++]!; }
  private isOp(text: string, offset = 0): boolean { const t = this.peek(offset); return t.kind === 'op' && t.text === text; }
  private isWord(word: string): boolean { const t = this.peek(); return t.kind === 'ident' && t.text === word; }
  private fail(t: Token, detail: string): never {
    throw new OttlSyntaxError(this.src, t.pos, `${detail}, found ${t.kind === 'eof' ? 'end of condition' : JSON.stringify(t.text)}`);
  }
  private expectOp(text: string): Token {
    if (!this.isOp(text)) this.fail(this.peek(), `expected "${text}"`);
    return this.next();
  }

  parseCondition(): Node {
    const node = this.parseOr();
    if (this.peek().kind !== 'eof') this.fail(this.peek(), 'expected "and", "or" or the end of the condition');
    return node;
  }

  private parseOr(): Node { return this.parseLogical('or', () => this.parseAnd()); }
  private parseAnd(): Node { return this.parseLogical('and', () => this.parseNot()); }

  private parseLogical(word: 'and' | 'or', operand: () => Node): Node {
    let left = operand();
    while (this.isWord(word)) {
      const pos = this.next().pos;
      left = { k: word, left, right: operand(), pos };
    }
    return left;
  }

  private parseNot(): Node {
    if (this.isWord('not')) {
      const pos = this.next().pos;
      return { k: 'not', operand: this.parseNot(), pos };
    }
    return this.parseComparison();
  }

  private parseComparison(): Node {
    const left = this.parseSum();
    const t = this.peek();
    if (t.kind === 'op' && COMPARE_OPS.has(t.text)) {
      this.next();
      return { k: 'compare', op: t.text as CompareOp, left, right: this.parseSum(), pos: t.pos };
    }
    return left;
  }

  private parseSum(): Node { return this.parseMath('+', '-', () => this.parseProduct()); }
  private parseProduct(): Node { return this.parseMath('*', '/', () => this.parseUnary()); }

  private parseMath(op1: MathOp, op2: MathOp, operand: () => Node): Node {
    let left = operand();
    while (this.isOp(op1) || this.isOp(op2)) {
      const t = this.next();
      left = { k: 'math', op: t.text as MathOp, left, right: operand(), pos: t.pos };
    }
    return left;
  }

  private parseUnary(): Node {
    if (this.isOp('-')) {
      const pos = this.next().pos;
      const operand = this.parseUnary();
      if (operand.k === 'literal' && (typeof operand.value === 'bigint' || typeof operand.value === 'number')) {
        return { k: 'literal', value: -operand.value, pos };
      }
      return { k: 'negate', operand, pos };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Node {
    const t = this.peek();
    switch (t.kind) {
      case 'string': case 'int': case 'float': case 'bytes':
        this.next();
        return { k: 'literal', value: t.value as Literal, pos: t.pos };
      case 'op':
        if (t.text === '(') {
          this.next();
          const inner = this.parseOr();
          this.expectOp(')');
          return inner;
        }
        return this.fail(t, 'expected a value, a path or "("');
      case 'ident':
        break;
      default:
        return this.fail(t, 'expected a value, a path or "("');
    }
    if (t.text === 'true' || t.text === 'false') { this.next(); return { k: 'literal', value: t.text === 'true', pos: t.pos }; }
    if (t.text === 'nil') { this.next(); return { k: 'literal', value: null, pos: t.pos }; }
    if (KEYWORDS.has(t.text)) return this.fail(t, 'expected a value, a path or "("');
    if (this.isOp('(', 1)) return this.parseCall();
    if (ENUM_NAME.test(t.text) && !this.isOp('.', 1) && !this.isOp('[', 1)) {
      this.next();
      return { k: 'enum', name: t.text, pos: t.pos };
    }
    return this.parsePath();
  }

  private parseCall(): Node {
    const nameTok = this.next();
    if (!/^[A-Z]/.test(nameTok.text)) {
      this.fail(nameTok, 'conditions can only call converters (names starting with an upper-case letter)');
    }
    this.expectOp('(');
    const args: Node[] = [];
    if (!this.isOp(')')) {
      for (;;) {
        args.push(this.parseOr());
        if (this.isOp(',')) { this.next(); continue; }
        break;
      }
    }
    this.expectOp(')');
    return { k: 'call', name: nameTok.text, args, pos: nameTok.pos };
  }

  private parsePath(): Node {
    const start = this.peek();
    const segments: PathSegment[] = [];
    for (;;) {
      const nameTok = this.next();
      if (nameTok.kind !== 'ident' || KEYWORDS.has(nameTok.text)) this.fail(nameTok, 'expected a path segment name');
      const segment: PathSegment = { name: nameTok.text, keys: [] };
      while (this.isOp('[')) {
        this.next();
        const key = this.next();
        if (key.kind !== 'string' && key.kind !== 'int') this.fail(key, 'expected a string or integer key inside [ ]');
        segment.keys.push(key.value as string | bigint);
        this.expectOp(']');
      }
      segments.push(segment);
      if (!this.isOp('.')) break;
      this.next();
    }
    const end = this.tokens[this.i - 1]!;
    return { k: 'path', segments, pos: start.pos, text: this.src.slice(start.pos, end.pos + end.text.length) };
  }
}

/** Parses one condition into an AST; throws OttlSyntaxError naming the column. */
export function parseCondition(src: string): Node {
  return new Parser(src, tokenize(src)).parseCondition();
}
