// Attribute actions shared by the attributes and resource processors (the Collector's
// coreinternal/attraction): insert, update, upsert, delete, hash, extract, convert, applied in
// the configured order to one attribute map.
import { createHash } from 'node:crypto';
import type { ConsumeContext } from '../consumer.js';
import type { AnyValue, Attributes } from '../pdata/model.js';
import { anyValueToString } from './anyvalue.js';
import { checkEnum, checkKeys, checkRegExp } from './processorhelper.js';

export const ACTIONS = ['insert', 'update', 'upsert', 'delete', 'hash', 'extract', 'convert'] as const;
export type ActionName = typeof ACTIONS[number];
export const CONVERTED_TYPES = ['int', 'double', 'string'] as const;

/** One entry of `actions:` as written in YAML. */
export interface ActionConfig {
  key?: string;
  pattern?: string;
  action: ActionName;
  value?: AnyValue;
  from_attribute?: string;
  from_context?: string;
  converted_type?: typeof CONVERTED_TYPES[number];
}

type ValueSource = (attrs: Attributes, ctx: ConsumeContext | undefined) => AnyValue | undefined;
export type CompiledAction = (attrs: Attributes, ctx: ConsumeContext | undefined) => void;

function valueSource(a: ActionConfig, option: string): ValueSource {
  const given = [a.value !== undefined && 'value', a.from_attribute !== undefined && 'from_attribute', a.from_context !== undefined && 'from_context'].filter(Boolean);
  if (given.length !== 1) {
    throw new Error(`${option}: action "${a.action}" needs exactly one of value, from_attribute or from_context (got ${given.length ? given.join(', ') : 'none'})`);
  }
  if (a.value !== undefined) { const v = a.value; return () => v; }
  if (a.from_attribute !== undefined) { const k = a.from_attribute; return (attrs) => attrs[k]; }
  const src = a.from_context!;
  if (src === 'client.address') return (_a, ctx) => ctx?.clientAddress;
  if (src.startsWith('metadata.')) {
    const name = src.slice('metadata.'.length).toLowerCase();
    return (_a, ctx) => {
      const values = ctx?.metadata?.[name];
      if (!values || values.length === 0) return undefined;
      return values.length === 1 ? values[0]! : [...values];
    };
  }
  throw new Error(`${option}: from_context ${JSON.stringify(src)} is not supported; use "metadata.<header>" or "client.address"`);
}

/** pcommon's hashing: strings as UTF-8, bools as one byte, ints/doubles as 8 little-endian bytes. */
export function hashValue(v: AnyValue): string {
  let bytes: Buffer | undefined;
  if (typeof v === 'string') bytes = Buffer.from(v, 'utf8');
  else if (typeof v === 'boolean') bytes = Buffer.from([v ? 1 : 0]);
  else if (typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))) {
    bytes = Buffer.alloc(8);
    bytes.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)));
  } else if (typeof v === 'number') {
    bytes = Buffer.alloc(8);
    bytes.writeDoubleLE(v);
  }
  return bytes ? createHash('sha256').update(bytes).digest('hex') : '';
}

/** Converts a value, or returns undefined when it cannot be converted (the value is then left as is). */
function convert(v: AnyValue, to: typeof CONVERTED_TYPES[number]): AnyValue | undefined {
  if (to === 'string') return anyValueToString(v);
  const num = typeof v === 'boolean' ? Number(v)
    : typeof v === 'number' || typeof v === 'bigint' ? Number(v)
      : typeof v === 'string' && v.trim() !== '' ? Number(v.trim()) : NaN;
  if (!Number.isFinite(num)) return undefined;
  return to === 'int' ? Math.trunc(num) : num;
}

function keySelector(a: ActionConfig, option: string): (key: string) => boolean {
  if (a.key === undefined && a.pattern === undefined) throw new Error(`${option}: action "${a.action}" needs key or pattern`);
  const re = a.pattern !== undefined ? checkRegExp(a.pattern, `${option}.pattern`) : undefined;
  return (k) => k === a.key || (re !== undefined && re.test(k));
}

const ACTION_KEYS = ['key', 'pattern', 'action', 'value', 'from_attribute', 'from_context', 'converted_type'] as const;

function compileAction(a: ActionConfig, option: string): CompiledAction {
  checkKeys(a, ACTION_KEYS, option);
  checkEnum(a?.action, `${option}.action`, ACTIONS);
  const needKey = () => {
    if (typeof a.key !== 'string' || a.key === '') throw new Error(`${option}: action "${a.action}" needs a non-empty key`);
    return a.key;
  };
  switch (a.action) {
    case 'insert': case 'update': case 'upsert': {
      const key = needKey();
      const source = valueSource(a, option);
      const mode = a.action;
      return (attrs, ctx) => {
        const present = Object.hasOwn(attrs, key);
        if ((mode === 'insert' && present) || (mode === 'update' && !present)) return;
        const v = source(attrs, ctx);
        if (v !== undefined) attrs[key] = v;
      };
    }
    case 'delete': {
      const selected = keySelector(a, option);
      return (attrs) => { for (const k of Object.keys(attrs)) if (selected(k)) delete attrs[k]; };
    }
    case 'hash': {
      const selected = keySelector(a, option);
      return (attrs) => { for (const k of Object.keys(attrs)) if (selected(k)) attrs[k] = hashValue(attrs[k]!); };
    }
    case 'extract': {
      const key = needKey();
      const re = checkRegExp(a.pattern, `${option}.pattern`);
      if (!/\(\?<[A-Za-z_][A-Za-z0-9_]*>/.test(a.pattern!)) {
        throw new Error(`${option}.pattern: extract needs at least one named group, e.g. "^/api/(?<version>v\\d+)/"`);
      }
      return (attrs) => {
        const v = attrs[key];
        if (typeof v !== 'string') return;
        const m = re.exec(v);
        if (!m?.groups) return;
        for (const [name, value] of Object.entries(m.groups)) if (value !== undefined) attrs[name] = value;
      };
    }
    case 'convert': {
      const key = needKey();
      const to = checkEnum(a.converted_type, `${option}.converted_type`, CONVERTED_TYPES);
      return (attrs) => {
        if (!Object.hasOwn(attrs, key)) return;
        const v = convert(attrs[key]!, to);
        if (v !== undefined) attrs[key] = v;
      };
    }
  }
}

/** Compiles `actions:`; errors name `actions[i]` and the fix. */
export function compileActions(actions: unknown, option = 'actions'): CompiledAction[] {
  if (!Array.isArray(actions) || actions.length === 0) throw new Error(`${option}: at least one action is required`);
  return actions.map((a: ActionConfig, i) => compileAction(a, `${option}[${i}]`));
}

export function applyActions(actions: CompiledAction[], attrs: Attributes, ctx: ConsumeContext | undefined): void {
  for (const act of actions) act(attrs, ctx);
}
