// The Collector's config, strictly: YAML → env expansion → component ids → defaults deep-merged
// with what the user wrote (unknown keys rejected) → each factory's validate → pipeline graph
// checks (references, duplicates, connectors, cycles). Every problem is collected and reported
// with the Collector's wording, so `sonde validate` lists them all at once.
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { AnyFactory, ComponentId, ComponentKind, ConnectorFactory } from '../component.js';
import type { FactoryMap } from '../components.js';
import { validTypes } from '../components.js';
import type { Signal } from '../pdata/model.js';
import { type Env, expandEnv } from './expand.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0] : `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const SIGNALS: Signal[] = ['traces', 'metrics', 'logs'];
const TYPE_RE = /^[a-zA-Z][0-9a-zA-Z_]{0,62}$/;
const SECTIONS = ['receivers', 'processors', 'exporters', 'connectors', 'extensions'] as const;
type Section = (typeof SECTIONS)[number];
const KIND_OF: Record<Section, ComponentKind> = {
  receivers: 'receiver', processors: 'processor', exporters: 'exporter', connectors: 'connector', extensions: 'extension',
};

export function parseComponentId(text: string): ComponentId {
  const slash = text.indexOf('/');
  const type = slash < 0 ? text : text.slice(0, slash);
  const name = slash < 0 ? '' : text.slice(slash + 1);
  if (slash >= 0 && name === '') throw new Error(`in "${text}" id: the part after / should not be empty`);
  if (!TYPE_RE.test(type)) throw new Error(`in "${text}" id: invalid character(s) in type "${type}" (must match ${TYPE_RE.source})`);
  if (name.length > 1024 || /[\s]/.test(name)) throw new Error(`in "${text}" id: invalid character(s) in name "${name}"`);
  return { type, name, toString: () => text };
}

export interface ComponentConfig {
  id: ComponentId;
  kind: ComponentKind;
  factory: AnyFactory;
  config: any;
}

export interface PipelineConfig {
  /** `traces`, `metrics/2`, … */
  id: string;
  signal: Signal;
  receivers: string[];
  processors: string[];
  exporters: string[];
}

export interface TelemetryConfig {
  logs: { level: string; encoding: string };
  metrics: { level: string; address?: string; readers?: unknown[] };
}

export interface ResolvedConfig {
  receivers: Map<string, ComponentConfig>;
  processors: Map<string, ComponentConfig>;
  exporters: Map<string, ComponentConfig>;
  connectors: Map<string, ComponentConfig>;
  extensions: Map<string, ComponentConfig>;
  pipelines: PipelineConfig[];
  serviceExtensions: string[];
  telemetry: TelemetryConfig;
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);

/** YAML text → plain object with env references expanded. */
export function parseConfigYaml(text: string, env: Env = process.env): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true });
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
    throw new ConfigError([`cannot parse the config as YAML${where}: ${(err as Error).message.split('\n')[0]}`]);
  }
  if (doc === null || doc === undefined) return {};
  if (!isMap(doc)) throw new ConfigError(['the config must be a YAML map with receivers, processors, exporters, connectors, extensions and service']);
  try {
    return expandEnv(doc, env) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError([(err as Error).message]);
  }
}

const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a map' : `${typeof v} ${JSON.stringify(v)}`);

/**
 * Deep-merges the user's component config over the factory defaults. Keys absent from the
 * defaults are invalid unless the path is in `openKeys`; a default of null accepts any value.
 */
export function mergeWithDefaults(defaults: unknown, user: unknown, path: string, openKeys: Set<string>, rel: string, problems: string[]): unknown {
  if (user === undefined || user === null) return structuredClone(defaults);
  if (isMap(defaults)) {
    if (!isMap(user)) { problems.push(`'${path}' expected a map, got ${describe(user)}`); return structuredClone(defaults); }
    if (openKeys.has(rel)) return { ...structuredClone(defaults), ...user };
    const out: Record<string, unknown> = structuredClone(defaults);
    const invalid: string[] = [];
    for (const [k, v] of Object.entries(user)) {
      if (!(k in defaults)) { invalid.push(k); continue; }
      const childRel = rel ? `${rel}.${k}` : k;
      out[k] = mergeWithDefaults(defaults[k], v, `${path}::${k}`, openKeys, childRel, problems);
    }
    if (invalid.length) problems.push(`'${path}' has invalid keys: ${invalid.sort().join(', ')}`);
    return out;
  }
  if (defaults === null || defaults === undefined) return user;
  if (Array.isArray(defaults)) {
    if (!Array.isArray(user)) { problems.push(`'${path}' expected a list, got ${describe(user)}`); return structuredClone(defaults); }
    return user;
  }
  if (typeof defaults === 'number' && typeof user !== 'number') { problems.push(`'${path}' expected a number, got ${describe(user)}`); return defaults; }
  if (typeof defaults === 'boolean' && typeof user !== 'boolean') { problems.push(`'${path}' expected a boolean, got ${describe(user)}`); return defaults; }
  if (typeof defaults === 'string') {
    // Durations and endpoints may be written as bare numbers in YAML (e.g. `timeout: 0`).
    if (typeof user === 'number') return String(user);
    if (typeof user !== 'string') { problems.push(`'${path}' expected a string, got ${describe(user)}`); return defaults; }
  }
  return user;
}

function resolveSection(section: Section, raw: unknown, registry: FactoryMap, problems: string[]): Map<string, ComponentConfig> {
  const out = new Map<string, ComponentConfig>();
  if (raw === undefined || raw === null) return out;
  if (!isMap(raw)) { problems.push(`'${section}' must be a map of component id to config, got ${describe(raw)}`); return out; }
  const kind = KIND_OF[section];
  for (const [idText, userCfg] of Object.entries(raw)) {
    let id: ComponentId;
    try {
      id = parseComponentId(idText);
    } catch (err) {
      problems.push(`${section}: ${(err as Error).message}`);
      continue;
    }
    const factory = registry[kind].get(id.type);
    if (!factory) {
      problems.push(`${section}: unknown type: "${id.type}" for id: "${idText}" (valid values: [${validTypes(registry, kind).join(' ')}])`);
      continue;
    }
    const path = `${section}::${idText}`;
    const before = problems.length;
    let config = mergeWithDefaults(factory.createDefaultConfig(), userCfg, path, new Set(factory.openKeys ?? []), '', problems);
    if (problems.length > before) continue;
    if (factory.unmarshal) config = factory.unmarshal(config, isMap(userCfg) ? userCfg : {});
    try {
      factory.validate?.(config);
    } catch (err) {
      problems.push(`${path}: ${(err as Error).message}`);
      continue;
    }
    out.set(idText, { id, kind, factory, config });
  }
  return out;
}

function stringList(v: unknown, path: string, problems: string[]): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) { problems.push(`'${path}' must be a list of component ids`); return []; }
  return v as string[];
}

const TELEMETRY_DEFAULTS = {
  logs: {
    level: 'info', encoding: 'json', development: false, disable_caller: false, disable_stacktrace: false,
    sampling: null, output_paths: null, error_output_paths: null, initial_fields: null, processors: null,
  },
  metrics: { level: 'normal', address: null, readers: null },
  traces: { level: null, propagators: null, processors: null },
  resource: null,
};
const LOG_LEVELS = ['debug', 'info', 'warn', 'error'];
const METRICS_LEVELS = ['none', 'basic', 'normal', 'detailed'];

/** Resolves and validates a parsed config against a component registry. Throws ConfigError. */
export function resolveConfig(raw: Record<string, unknown>, registry: FactoryMap): ResolvedConfig {
  const problems: string[] = [];
  const top = Object.keys(raw).filter((k) => !(SECTIONS as readonly string[]).includes(k) && k !== 'service');
  if (top.length) problems.push(`'' has invalid keys: ${top.sort().join(', ')}`);

  const sections = Object.fromEntries(SECTIONS.map((s) => [s, resolveSection(s, raw[s], registry, problems)])) as Record<Section, Map<string, ComponentConfig>>;
  // Ids that failed to resolve (unknown type, bad config) are already reported; don't report them
  // again as "not configured" when a pipeline names them.
  const declared = (s: Section) => new Set(isMap(raw[s]) ? Object.keys(raw[s] as object) : []);

  const service = raw.service;
  if (service !== undefined && service !== null && !isMap(service)) problems.push(`'service' must be a map, got ${describe(service)}`);
  const svc = isMap(service) ? service : {};
  const badServiceKeys = Object.keys(svc).filter((k) => !['extensions', 'pipelines', 'telemetry'].includes(k));
  if (badServiceKeys.length) problems.push(`'service' has invalid keys: ${badServiceKeys.sort().join(', ')}`);

  const telemetry = mergeWithDefaults(TELEMETRY_DEFAULTS, svc.telemetry, 'service::telemetry', new Set(['resource']), '', problems) as typeof TELEMETRY_DEFAULTS;
  if (!LOG_LEVELS.includes(String(telemetry.logs.level).toLowerCase())) {
    problems.push(`service::telemetry::logs::level: unknown level "${telemetry.logs.level}" (valid values: [${LOG_LEVELS.join(' ')}])`);
  }
  if (!METRICS_LEVELS.includes(String(telemetry.metrics.level).toLowerCase())) {
    problems.push(`service::telemetry::metrics::level: unknown level "${telemetry.metrics.level}" (valid values: [${METRICS_LEVELS.join(' ')}])`);
  }

  const serviceExtensions = stringList(svc.extensions, 'service::extensions', problems);
  const declaredExt = declared('extensions');
  for (const e of serviceExtensions) {
    if (!declaredExt.has(e)) problems.push(`service::extensions: references extension "${e}" which is not configured`);
  }

  const pipelines = resolvePipelines(svc.pipelines, sections, declared, problems);
  if (problems.length === 0) checkGraph(pipelines, sections.connectors, problems);
  if (problems.length) throw new ConfigError(problems);

  return {
    ...sections,
    pipelines,
    serviceExtensions,
    telemetry: {
      logs: { level: String(telemetry.logs.level).toLowerCase(), encoding: String(telemetry.logs.encoding) },
      metrics: {
        level: String(telemetry.metrics.level).toLowerCase(),
        address: typeof telemetry.metrics.address === 'string' ? telemetry.metrics.address : undefined,
        readers: Array.isArray(telemetry.metrics.readers) ? telemetry.metrics.readers : undefined,
      },
    },
  };
}

function resolvePipelines(
  raw: unknown,
  sections: Record<Section, Map<string, ComponentConfig>>,
  declared: (s: Section) => Set<string>,
  problems: string[],
): PipelineConfig[] {
  if (raw === undefined || raw === null || (isMap(raw) && Object.keys(raw).length === 0)) {
    problems.push('service must have at least one pipeline');
    return [];
  }
  if (!isMap(raw)) { problems.push(`'service::pipelines' must be a map, got ${describe(raw)}`); return []; }
  const out: PipelineConfig[] = [];
  const known = { receivers: declared('receivers'), processors: declared('processors'), exporters: declared('exporters'), connectors: declared('connectors') };
  for (const [pid, body] of Object.entries(raw)) {
    const path = `service::pipelines::${pid}`;
    let id: ComponentId;
    try {
      id = parseComponentId(pid);
    } catch (err) {
      problems.push(`service::pipelines: ${(err as Error).message}`);
      continue;
    }
    if (!SIGNALS.includes(id.type as Signal)) {
      problems.push(`${path}: unknown signal "${id.type}" (valid values: [${SIGNALS.join(' ')}])`);
      continue;
    }
    const signal = id.type as Signal;
    const b = isMap(body) ? body : {};
    const bad = Object.keys(b).filter((k) => !['receivers', 'processors', 'exporters'].includes(k));
    if (bad.length) problems.push(`'${path}' has invalid keys: ${bad.sort().join(', ')}`);
    const p: PipelineConfig = {
      id: pid,
      signal,
      receivers: stringList(b.receivers, `${path}::receivers`, problems),
      processors: stringList(b.processors, `${path}::processors`, problems),
      exporters: stringList(b.exporters, `${path}::exporters`, problems),
    };
    if (p.receivers.length === 0) problems.push(`${path}: must have at least one receiver`);
    if (p.exporters.length === 0) problems.push(`${path}: must have at least one exporter`);
    const check = (list: string[], what: 'receiver' | 'processor' | 'exporter', sets: Set<string>[], resolved: Map<string, ComponentConfig>[]) => {
      const seen = new Set<string>();
      for (const ref of list) {
        if (seen.has(ref)) problems.push(`${path}: references ${what} "${ref}" multiple times`);
        seen.add(ref);
        if (!sets.some((s) => s.has(ref))) { problems.push(`${path}: references ${what} "${ref}" which is not configured`); continue; }
        const cc = resolved.map((m) => m.get(ref)).find(Boolean);
        if (cc && cc.kind !== 'connector' && !cc.factory.signals.includes(signal)) {
          problems.push(`${path}: ${what} "${ref}" does not support ${signal} (it supports: ${cc.factory.signals.join(', ')})`);
        }
      }
    };
    check(p.receivers, 'receiver', [known.receivers, known.connectors], [sections.receivers, sections.connectors]);
    check(p.processors, 'processor', [known.processors], [sections.processors]);
    check(p.exporters, 'exporter', [known.exporters, known.connectors], [sections.exporters, sections.connectors]);
    out.push(p);
  }
  return out;
}

/** Connector use (both sides, supported signal pairs) and cycles through connectors. */
function checkGraph(pipelines: PipelineConfig[], connectors: Map<string, ComponentConfig>, problems: string[]): void {
  for (const [cid, cc] of connectors) {
    const f = cc.factory as ConnectorFactory;
    const asExporter = pipelines.filter((p) => p.exporters.includes(cid));
    const asReceiver = pipelines.filter((p) => p.receivers.includes(cid));
    if (asExporter.length === 0 && asReceiver.length === 0) continue; // unused components are ignored, like the Collector
    for (const e of asExporter) {
      if (!asReceiver.some((r) => f.pairs.some(([from, to]) => from === e.signal && to === r.signal))) {
        problems.push(`connectors::${cid}: used as exporter in ${e.signal} pipeline "${e.id}" but not used in any supported receiver pipeline`);
      }
    }
    for (const r of asReceiver) {
      if (!asExporter.some((e) => f.pairs.some(([from, to]) => from === e.signal && to === r.signal))) {
        problems.push(`connectors::${cid}: used as receiver in ${r.signal} pipeline "${r.id}" but not used in any supported exporter pipeline`);
      }
    }
  }
  if (problems.length) return;
  // Pipeline A → connector c → pipeline B when A exports to c and B receives from c.
  const edges = new Map<string, Array<{ via: string; to: string }>>();
  for (const a of pipelines) {
    const list: Array<{ via: string; to: string }> = [];
    for (const ex of a.exporters) {
      if (!connectors.has(ex)) continue;
      const f = connectors.get(ex)!.factory as ConnectorFactory;
      for (const b of pipelines) {
        if (b.receivers.includes(ex) && f.pairs.some(([from, to]) => from === a.signal && to === b.signal)) list.push({ via: ex, to: b.id });
      }
    }
    edges.set(a.id, list);
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const trail: string[] = [];
  const visit = (pid: string): boolean => {
    if (state.get(pid) === 'done') return false;
    if (state.get(pid) === 'visiting') {
      const start = trail.indexOf(`pipeline "${pid}"`);
      problems.push(`cycle detected: ${[...trail.slice(start), `pipeline "${pid}"`].join(' -> ')}`);
      return true;
    }
    state.set(pid, 'visiting');
    trail.push(`pipeline "${pid}"`);
    for (const e of edges.get(pid) ?? []) {
      trail.push(`connector "${e.via}"`);
      if (visit(e.to)) return true;
      trail.pop();
    }
    trail.pop();
    state.set(pid, 'done');
    return false;
  };
  for (const p of pipelines) if (visit(p.id)) break;
}

/** Parses, expands and resolves a YAML config in one step. Throws ConfigError. */
export function loadConfig(text: string, registry: FactoryMap, env: Env = process.env): ResolvedConfig {
  return resolveConfig(parseConfigYaml(text, env), registry);
}
