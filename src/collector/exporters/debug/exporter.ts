// The `debug` exporter: writes what passes through to the agent's log, like the Collector's.
// basic = one summary line per batch; normal = one line per span / data point / log record under
// its resource and scope; detailed = the whole batch as indented OTLP JSON.
import type { Logger } from 'pino';
import type {
  AnyValue, Attributes, InstrumentationScope, Logs, Metrics, Resource, Signal, SignalData, Traces,
} from '../../pdata/model.js';
import { SpanKind, StatusCode } from '../../pdata/model.js';
import { writeSignal } from '../../pdata/otlp.js';
import { countDataPoints, countLogRecords, countSpans } from '../../pdata/util.js';

export interface DebugExporterConfig {
  verbosity: 'basic' | 'normal' | 'detailed';
  sampling_initial: number;
  sampling_thereafter: number;
  /** true: through the agent's pino logger; false: plain text on stdout. */
  use_internal_logger: boolean;
}

function valueText(v: AnyValue): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return `[${v.map(valueText).join(',')}]`;
  if (typeof v === 'object') return `{${attrsText(v.kvlist)}}`;
  return String(v);
}

function attrsText(a: Attributes): string {
  return Object.entries(a).map(([k, v]) => `${k}=${valueText(v)}`).join(' ');
}

/**
 * The `normal` text's one walk: a line per resource and per scope (numbered as the Collector
 * does), and under each scope the lines `scopeLines` adds for its spans / points / records.
 */
function normalLines<R extends { resource: Resource; schemaUrl: string }, SC extends { scope: InstrumentationScope }>(
  resources: readonly R[], labels: [resource: string, scope: string], scopesOf: (r: R) => readonly SC[], scopeLines: (sc: SC, lines: string[]) => void,
): string[] {
  const lines: string[] = [];
  resources.forEach((r, i) => {
    lines.push(`${labels[0]} #${i}${r.schemaUrl ? ` [${r.schemaUrl}]` : ''} ${attrsText(r.resource.attributes)}`);
    scopesOf(r).forEach((sc, j) => {
      lines.push(`${labels[1]} #${j} ${sc.scope.name}${sc.scope.version ? ` ${sc.scope.version}` : ''}`);
      scopeLines(sc, lines);
    });
  });
  return lines;
}

function normalTraces(td: Traces): string[] {
  return normalLines(td.resourceSpans, ['ResourceSpans', 'ScopeSpans'], (rs) => rs.scopeSpans, (ss, lines) => {
    for (const s of ss.spans) {
      const ms = Number(s.endTimeUnixNano - s.startTimeUnixNano) / 1e6;
      lines.push(`${s.name} ${s.traceId} ${s.spanId} ${SpanKind[s.kind] ?? s.kind} ${StatusCode[s.status.code] ?? s.status.code} ${ms}ms ${attrsText(s.attributes)}`.trimEnd());
    }
  });
}

function normalMetrics(md: Metrics): string[] {
  return normalLines(md.resourceMetrics, ['ResourceMetrics', 'ScopeMetrics'], (rm) => rm.scopeMetrics, (sm, lines) => {
    for (const m of sm.metrics) {
      for (const p of m.data.dataPoints) {
        let value: string;
        if ('value' in p) value = String(p.value);
        else if ('quantileValues' in p) value = `count=${p.count} sum=${p.sum}`;
        else value = `count=${p.count}${p.sum !== undefined ? ` sum=${p.sum}` : ''}`;
        lines.push(`${m.name}{${attrsText(p.attributes).replace(/ /g, ',')}} ${value}`);
      }
    }
  });
}

function normalLogs(ld: Logs): string[] {
  return normalLines(ld.resourceLogs, ['ResourceLog', 'ScopeLog'], (rl) => rl.scopeLogs, (sl, lines) => {
    for (const l of sl.logRecords) lines.push(`${l.severityText || l.severityNumber} ${valueText(l.body)} ${attrsText(l.attributes)}`.trimEnd());
  });
}

export class DebugExporter<S extends Signal> {
  private seen = 0;

  constructor(private readonly signal: S, private readonly logger: Logger, private readonly cfg: DebugExporterConfig) {}

  /** The Collector's sampling: the first `sampling_initial` batches, then every `sampling_thereafter`-th. */
  private sampled(): boolean {
    this.seen++;
    if (this.seen <= this.cfg.sampling_initial) return true;
    return this.cfg.sampling_thereafter > 0 && (this.seen - this.cfg.sampling_initial) % this.cfg.sampling_thereafter === 0;
  }

  private emit(summary: Record<string, number>, title: string, text?: string): void {
    if (this.cfg.use_internal_logger) {
      this.logger.info(summary, text === undefined ? title : `${title}\n${text}`);
    } else {
      const head = `${title} ${Object.entries(summary).map(([k, v]) => `${k}=${v}`).join(' ')}`;
      process.stdout.write(text === undefined ? `${head}\n` : `${head}\n${text}\n`);
    }
  }

  async consume(data: SignalData[S]): Promise<void> {
    if (!this.sampled()) return;
    let summary: Record<string, number>;
    let title: string;
    let lines: () => string[];
    if (this.signal === 'traces') {
      const td = data as Traces;
      summary = { 'resource spans': td.resourceSpans.length, spans: countSpans(td) };
      title = 'Traces';
      lines = () => normalTraces(td);
    } else if (this.signal === 'metrics') {
      const md = data as Metrics;
      summary = {
        'resource metrics': md.resourceMetrics.length,
        metrics: md.resourceMetrics.reduce((n, rm) => n + rm.scopeMetrics.reduce((k, sm) => k + sm.metrics.length, 0), 0),
        'data points': countDataPoints(md),
      };
      title = 'Metrics';
      lines = () => normalMetrics(md);
    } else {
      const ld = data as Logs;
      summary = { 'resource logs': ld.resourceLogs.length, 'log records': countLogRecords(ld) };
      title = 'Logs';
      lines = () => normalLogs(ld);
    }
    if (this.cfg.verbosity === 'basic') this.emit(summary, title);
    else if (this.cfg.verbosity === 'normal') this.emit(summary, title, lines().join('\n'));
    else this.emit(summary, title, JSON.stringify(writeSignal(this.signal, data), null, 2));
  }
}
