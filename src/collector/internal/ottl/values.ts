// OTTL runtime values and their semantics: comparison (missing → nil, int vs float as float,
// different types never equal, ordering across incompatible types false) and integer/float math.
import type { AnyValue, KeyValueList } from '../../pdata/model.js';
import type { CompareOp, MathOp } from './parser.js';

/** Ints are bigint (int64 timestamps stay exact), doubles are number, maps keep the model's {kvlist}. */
export type OttlValue = string | bigint | number | boolean | null | Uint8Array | KeyValueList | AnyValue[];

export class OttlEvalError extends Error {
  constructor(message: string) { super(message); this.name = 'OttlEvalError'; }
}

/** Model attribute value → OTTL value: JS integers are OTLP ints (the model's convention). */
export function fromAnyValue(v: AnyValue | undefined): OttlValue {
  if (v === undefined) return null;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return v;
}

export const isMap = (v: OttlValue): v is KeyValueList =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

export function typeName(v: OttlValue): string {
  if (v === null) return 'nil';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'double';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'list';
  if (isMap(v)) return 'map';
  return typeof v; // string | boolean
}

function order(c: number, op: CompareOp): boolean {
  switch (op) {
    case '==': return c === 0;
    case '!=': return c !== 0;
    case '<': return c < 0;
    case '<=': return c <= 0;
    case '>': return c > 0;
    case '>=': return c >= 0;
  }
}

const cmp = <T>(a: T, b: T): number => (a < b ? -1 : a > b ? 1 : 0);

function bytesCompare(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

const bigintAware = (_k: string, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v);

function deepEqual(a: OttlValue, b: OttlValue): boolean {
  return JSON.stringify(a, bigintAware) === JSON.stringify(b, bigintAware);
}

export function compare(a: OttlValue, b: OttlValue, op: CompareOp): boolean {
  const numeric = (v: OttlValue) => typeof v === 'bigint' || typeof v === 'number';
  if (a === null || b === null) {
    if (op === '==') return a === b;
    if (op === '!=') return a !== b;
    return false;
  }
  if (typeof a === 'bigint' && typeof b === 'bigint') return order(cmp(a, b), op);
  if (numeric(a) && numeric(b)) {
    const x = Number(a), y = Number(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return op === '!=';
    return order(cmp(x, y), op);
  }
  if (typeof a === 'string' && typeof b === 'string') return order(cmp(a, b), op);
  if (typeof a === 'boolean' && typeof b === 'boolean') return order(cmp(Number(a), Number(b)), op);
  if (a instanceof Uint8Array && b instanceof Uint8Array) return order(bytesCompare(a, b), op);
  if (typeName(a) === typeName(b) && (op === '==' || op === '!=')) return deepEqual(a, b) === (op === '==');
  return op === '!=';
}

export function math(a: OttlValue, b: OttlValue, op: MathOp): OttlValue {
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    switch (op) {
      case '+': return a + b;
      case '-': return a - b;
      case '*': return a * b;
      case '/':
        if (b === 0n) throw new OttlEvalError('division by zero');
        return a / b;
    }
  }
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) {
    const x = Number(a), y = Number(b);
    switch (op) {
      case '+': return x + y;
      case '-': return x - y;
      case '*': return x * y;
      case '/':
        if (y === 0) throw new OttlEvalError('division by zero');
        return x / y;
    }
  }
  throw new OttlEvalError(`cannot apply "${op}" to ${typeName(a)} and ${typeName(b)} (math needs int or double operands)`);
}

/** Indexes into a map (string key) or list (int key); anything missing is nil. */
export function index(v: OttlValue, key: string | bigint): OttlValue {
  if (typeof key === 'string') return isMap(v) ? fromAnyValue(v.kvlist[key]) : null;
  if (Array.isArray(v)) return fromAnyValue(v[Number(key)]);
  return null;
}
