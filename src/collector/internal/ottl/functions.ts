// OTTL converters usable in conditions. Each entry checks its argument count at compile time and
// may precompile literal arguments (IsMatch compiles its regex once, reporting a bad pattern with
// its position).
import { anyValueToString } from '../anyvalue.js';
import type { Getter, OttlContextKind } from './contexts.js';
import { OttlSyntaxError } from './lexer.js';
import type { Node } from './parser.js';
import { fromAnyValue, isMap, OttlEvalError, typeName, type OttlValue } from './values.js';

export interface ConverterSite { src: string; node: Extract<Node, { k: 'call' }>; kind: OttlContextKind }
type Converter = (site: ConverterSite, args: Getter[]) => Getter;

/** The string form OTTL's StringLikeGetter gives primitives; nil stays nil. */
function stringLike(v: OttlValue): string | null {
  if (v === null) return null;
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return anyValueToString(typeof v === 'bigint' && Number.isSafeInteger(Number(v)) ? Number(v) : v);
}

function literalString(site: ConverterSite, i: number, what: string): string {
  const arg = site.node.args[i]!;
  if (arg.k !== 'literal' || typeof arg.value !== 'string') {
    throw new OttlSyntaxError(site.src, arg.pos, `${site.node.name}: ${what} must be a string literal`);
  }
  return arg.value;
}

function toInt(v: OttlValue): OttlValue {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) : null;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^[+-]?\d+$/.test(t)) return BigInt(t);
    const f = Number(t);
    return t !== '' && Number.isFinite(f) ? BigInt(Math.trunc(f)) : null;
  }
  return null;
}

function toDouble(v: OttlValue): OttlValue {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') { const f = Number(v.trim()); return v.trim() !== '' && !Number.isNaN(f) ? f : null; }
  return null;
}

const typeTest = (test: (v: OttlValue) => boolean): Converter => (_site, [arg]) => (r) => test(arg!(r));

const CONVERTERS: Record<string, { arity: number; make: Converter }> = {
  IsMatch: {
    arity: 2,
    make: (site, [target]) => {
      const pattern = literalString(site, 1, 'the pattern');
      let re: RegExp;
      try { re = new RegExp(pattern); } catch (err) {
        throw new OttlSyntaxError(site.src, site.node.args[1]!.pos, `IsMatch: invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}`);
      }
      return (r) => {
        const v = target!(r);
        if (isMap(v) || Array.isArray(v)) throw new OttlEvalError(`IsMatch: target is a ${typeName(v)}, expected a string-like value`);
        const s = stringLike(v);
        return s !== null && re.test(s);
      };
    },
  },
  Len: {
    arity: 1,
    make: (_site, [arg]) => (r) => {
      const v = arg!(r);
      if (typeof v === 'string') return BigInt([...v].length);
      if (Array.isArray(v)) return BigInt(v.length);
      if (v instanceof Uint8Array) return BigInt(v.length);
      if (isMap(v)) return BigInt(Object.keys(v.kvlist).length);
      throw new OttlEvalError(`Len: cannot take the length of a ${typeName(v)}`);
    },
  },
  Int: { arity: 1, make: (_site, [arg]) => (r) => toInt(arg!(r)) },
  Double: { arity: 1, make: (_site, [arg]) => (r) => toDouble(arg!(r)) },
  String: { arity: 1, make: (_site, [arg]) => (r) => stringLike(arg!(r)) },
  ToLowerCase: { arity: 1, make: (_site, [arg]) => (r) => stringLike(arg!(r))?.toLowerCase() ?? null },
  ToUpperCase: { arity: 1, make: (_site, [arg]) => (r) => stringLike(arg!(r))?.toUpperCase() ?? null },
  IsString: { arity: 1, make: typeTest((v) => typeof v === 'string') },
  IsInt: { arity: 1, make: typeTest((v) => typeof v === 'bigint') },
  IsDouble: { arity: 1, make: typeTest((v) => typeof v === 'number') },
  IsBool: { arity: 1, make: typeTest((v) => typeof v === 'boolean') },
  IsMap: { arity: 1, make: typeTest((v) => isMap(v)) },
  IsList: { arity: 1, make: typeTest((v) => Array.isArray(v)) },
  HasAttrKeyOnDatapoint: {
    arity: 1,
    make: (site) => {
      const key = metricOnly(site);
      return (r) => r.metric!.data.dataPoints.some((dp) => key in dp.attributes);
    },
  },
  HasAttrOnDatapoint: {
    arity: 2,
    make: (site) => {
      const key = metricOnly(site);
      const value = literalString(site, 1, 'the value');
      return (r) => r.metric!.data.dataPoints.some((dp) => stringLike(fromAnyValue(dp.attributes[key])) === value);
    },
  },
};

function metricOnly(site: ConverterSite): string {
  if (site.kind !== 'metric') {
    throw new OttlSyntaxError(site.src, site.node.pos, `${site.node.name} is only available in the metric context (filter's metrics.metric / metric.* conditions)`);
  }
  return literalString(site, 0, 'the attribute key');
}

export function compileConverter(site: ConverterSite, args: Getter[]): Getter {
  const def = CONVERTERS[site.node.name];
  if (!def) {
    throw new OttlSyntaxError(site.src, site.node.pos, `unknown converter "${site.node.name}" (Sonde has: ${Object.keys(CONVERTERS).join(', ')})`);
  }
  if (args.length !== def.arity) {
    throw new OttlSyntaxError(site.src, site.node.pos, `${site.node.name} takes ${def.arity} argument(s), got ${args.length}`);
  }
  return def.make(site, args);
}
