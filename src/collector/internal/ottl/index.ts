// The OTTL condition subset shared by the filter processor and tail_sampling's ottl_condition
// policy: parse at config time (errors name the column), evaluate per record at run time.
import type { Signal } from '../../pdata/model.js';
import { compilePath, DEPTH, ENUMS, pathPrefix, type Getter, type OttlContextKind, type OttlRecord } from './contexts.js';
import { compileConverter } from './functions.js';
import { OttlSyntaxError } from './lexer.js';
import { parseCondition, type Node } from './parser.js';
import { compare, math, OttlEvalError, typeName, type OttlValue } from './values.js';

export type { OttlContextKind, OttlRecord } from './contexts.js';
export { OttlSyntaxError } from './lexer.js';
export { OttlEvalError } from './values.js';

export type ErrorMode = 'propagate' | 'ignore' | 'silent';
export const ERROR_MODES: ErrorMode[] = ['propagate', 'ignore', 'silent'];

export interface Condition {
  readonly source: string;
  readonly context: OttlContextKind;
  /** Throws OttlEvalError when the condition cannot be evaluated for this record. */
  evaluate(record: OttlRecord): boolean;
}

const BOOLEAN_NODES = new Set(['compare', 'and', 'or', 'not', 'call']);

function compileNode(src: string, node: Node, kind: OttlContextKind, requirePrefix: boolean): Getter {
  const sub = (n: Node) => compileNode(src, n, kind, requirePrefix);
  switch (node.k) {
    case 'literal': { const v = node.value; return () => v; }
    case 'enum': {
      const v = ENUMS[node.name];
      if (v === undefined) throw new OttlSyntaxError(src, node.pos, `unknown enum "${node.name}"`);
      return () => v;
    }
    case 'path': return compilePath(src, node.pos, node.segments, kind, requirePrefix);
    case 'call': return compileConverter({ src, node, kind }, node.args.map(sub));
    case 'compare': {
      const l = sub(node.left), r = sub(node.right), op = node.op;
      return (rec) => compare(l(rec), r(rec), op);
    }
    case 'math': {
      const l = sub(node.left), r = sub(node.right), op = node.op;
      return (rec) => math(l(rec), r(rec), op);
    }
    case 'negate': {
      const e = sub(node.operand);
      return (rec) => math(0n, e(rec), '-');
    }
    case 'and': {
      const l = sub(node.left), r = sub(node.right);
      return (rec) => asBool(l(rec), node.left) && asBool(r(rec), node.right);
    }
    case 'or': {
      const l = sub(node.left), r = sub(node.right);
      return (rec) => asBool(l(rec), node.left) || asBool(r(rec), node.right);
    }
    case 'not': {
      const e = sub(node.operand);
      return (rec) => !asBool(e(rec), node.operand);
    }
  }
}

function asBool(v: OttlValue, node: Node): boolean {
  if (typeof v === 'boolean') return v;
  throw new OttlEvalError(`${node.k === 'call' ? node.name : 'expression'} returned a ${typeName(v)} where a boolean is needed`);
}

function checkBoolean(src: string, node: Node): void {
  const isBool = BOOLEAN_NODES.has(node.k) || (node.k === 'literal' && typeof node.value === 'boolean');
  if (!isBool) {
    throw new OttlSyntaxError(src, node.pos, 'expected a condition (a comparison, and/or/not, a converter such as IsMatch(...), true or false)');
  }
  if (node.k === 'and' || node.k === 'or') { checkBoolean(src, node.left); checkBoolean(src, node.right); }
  if (node.k === 'not') checkBoolean(src, node.operand);
}

/** Compiles one condition for a context; throws OttlSyntaxError (with the column) on any problem. */
export function compileCondition(source: string, context: OttlContextKind, requirePrefix = false): Condition {
  const ast = parseCondition(source);
  checkBoolean(source, ast);
  const getter = compileNode(source, ast, context, requirePrefix);
  return { source, context, evaluate: (record) => asBool(getter(record), ast) };
}

const FLAT_CONTEXTS: Record<Signal, OttlContextKind[]> = {
  traces: ['resource', 'scope', 'span', 'spanevent'],
  metrics: ['resource', 'scope', 'metric', 'datapoint'],
  logs: ['resource', 'scope', 'log'],
};
const FLAT_DEFAULT: Record<Signal, OttlContextKind> = { traces: 'span', metrics: 'metric', logs: 'log' };

function collectPrefixes(node: Node, out: Set<OttlContextKind>): void {
  switch (node.k) {
    case 'path': { const p = pathPrefix(node.segments); if (p) out.add(p); return; }
    case 'call':
      if (node.name === 'HasAttrKeyOnDatapoint' || node.name === 'HasAttrOnDatapoint') out.add('metric');
      node.args.forEach((a) => collectPrefixes(a, out));
      return;
    case 'compare': case 'math': case 'and': case 'or':
      collectPrefixes(node.left, out); collectPrefixes(node.right, out); return;
    case 'negate': case 'not':
      collectPrefixes(node.operand, out); return;
    default: return;
  }
}

/**
 * Compiles a condition of the flat form (`trace_conditions`, ...): every path carries its context
 * prefix, and the condition runs in the deepest context it mentions (`spanevent.name` → per event).
 */
export function compileFlatCondition(source: string, signal: Signal): Condition {
  const ast = parseCondition(source);
  const prefixes = new Set<OttlContextKind>();
  collectPrefixes(ast, prefixes);
  const allowed = FLAT_CONTEXTS[signal];
  for (const p of prefixes) {
    if (!allowed.includes(p)) {
      throw new OttlSyntaxError(source, 0, `the ${p} context cannot be used in ${signal.slice(0, -1)}_conditions (allowed prefixes: ${allowed.join(', ')})`);
    }
  }
  // A condition that only reads resource/scope fields runs at that level; one that reads nothing
  // (e.g. `true`) runs per record.
  const context = prefixes.size === 0
    ? FLAT_DEFAULT[signal]
    : [...prefixes].reduce((a, b) => (DEPTH[b] > DEPTH[a] ? b : a));
  return compileCondition(source, context, true);
}

/**
 * A list of conditions where ANY true condition matches (the filter processor drops the record,
 * an ottl_condition policy samples the trace). Evaluation errors follow `error_mode`:
 * propagate → thrown; ignore → reported through `onIgnored` and counted as false; silent → false.
 */
export class ConditionSet {
  constructor(
    readonly conditions: Condition[],
    private readonly errorMode: ErrorMode,
    private readonly onIgnored: (condition: Condition, err: unknown) => void,
  ) {}

  get size(): number { return this.conditions.length; }

  any(record: OttlRecord): boolean {
    for (const c of this.conditions) {
      try {
        if (c.evaluate(record)) return true;
      } catch (err) {
        if (this.errorMode === 'propagate') throw new OttlEvalError(`condition ${JSON.stringify(c.source)} failed: ${(err as Error).message}`);
        if (this.errorMode === 'ignore') this.onIgnored(c, err);
      }
    }
    return false;
  }
}
