// filter processor config: OTTL conditions per context (legacy lists) or flat with path prefixes.
import type { Signal } from '../../pdata/model.js';
import { checkEnum, checkStringList } from '../../internal/processorhelper.js';
import {
  compileCondition, compileFlatCondition, ERROR_MODES, type Condition, type ErrorMode, type OttlContextKind,
} from '../../internal/ottl/index.js';

export interface FilterConfig {
  error_mode: ErrorMode;
  traces: { span: string[]; spanevent: string[] };
  metrics: { metric: string[]; datapoint: string[] };
  logs: { log_record: string[] };
  trace_conditions: string[];
  metric_conditions: string[];
  log_conditions: string[];
}

export function createDefaultConfig(): FilterConfig {
  return {
    error_mode: 'propagate',
    traces: { span: [], spanevent: [] },
    metrics: { metric: [], datapoint: [] },
    logs: { log_record: [] },
    trace_conditions: [],
    metric_conditions: [],
    log_conditions: [],
  };
}

// Legacy per-context lists: option path → the context its conditions run in.
const LEGACY: Array<{ signal: Signal; option: string; context: OttlContextKind; get: (c: FilterConfig) => unknown }> = [
  { signal: 'traces', option: 'traces.span', context: 'span', get: (c) => c.traces?.span },
  { signal: 'traces', option: 'traces.spanevent', context: 'spanevent', get: (c) => c.traces?.spanevent },
  { signal: 'metrics', option: 'metrics.metric', context: 'metric', get: (c) => c.metrics?.metric },
  { signal: 'metrics', option: 'metrics.datapoint', context: 'datapoint', get: (c) => c.metrics?.datapoint },
  { signal: 'logs', option: 'logs.log_record', context: 'log', get: (c) => c.logs?.log_record },
];
const FLAT: Record<Signal, { option: string; get: (c: FilterConfig) => unknown }> = {
  traces: { option: 'trace_conditions', get: (c) => c.trace_conditions },
  metrics: { option: 'metric_conditions', get: (c) => c.metric_conditions },
  logs: { option: 'log_conditions', get: (c) => c.log_conditions },
};

/** Every condition for one signal, compiled; errors name the option and index. */
export function compileFilterConditions(cfg: FilterConfig, signal: Signal): Condition[] {
  const out: Condition[] = [];
  const each = (list: unknown, option: string, compile: (src: string) => Condition) => {
    checkStringList(list ?? [], option).forEach((src, i) => {
      try {
        out.push(compile(src));
      } catch (err) {
        throw new Error(`${option}[${i}]: ${(err as Error).message}`);
      }
    });
  };
  for (const l of LEGACY) if (l.signal === signal) each(l.get(cfg), l.option, (src) => compileCondition(src, l.context));
  each(FLAT[signal].get(cfg), FLAT[signal].option, (src) => compileFlatCondition(src, signal));
  return out;
}

export function validate(cfg: FilterConfig): void {
  checkEnum(cfg.error_mode, 'error_mode', ERROR_MODES);
  for (const signal of ['traces', 'metrics', 'logs'] as const) compileFilterConditions(cfg, signal);
}
