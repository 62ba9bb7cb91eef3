// Writes accumulated families in the Prometheus text format (0.0.4) or in OpenMetrics 1.0 text.
// The differences that matter: OpenMetrics names a counter family without `_total` and its
// samples with it, writes timestamps in seconds (not ms), allows exemplars, and ends with `# EOF`.
import type { Exemplar } from '../../pdata/model.js';
import type { Family, Labels, Series } from './accumulator.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const formatNumber = (v: number): string =>
  Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);

const escapeLabelValue = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string, format: ExpositionFormat) => {
  const s = v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? s.replace(/"/g, '\\"') : s;
};

function labelSet(labels: Labels, extra?: [string, string]): string {
  const all = extra ? [...labels, extra] : labels;
  if (all.length === 0) return '';
  return `{${all.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

export interface WriteOptions { format: ExpositionFormat; sendTimestamps: boolean }

function exemplarSuffix(ex: Exemplar | undefined, opts: WriteOptions): string {
  if (!ex || opts.format !== 'openmetrics') return '';
  const labels: Labels = [];
  if (ex.traceId !== '') labels.push(['trace_id', ex.traceId]);
  if (ex.spanId !== '') labels.push(['span_id', ex.spanId]);
  const ts = ex.timeUnixNano > 0n ? ` ${Number(ex.timeUnixNano / 1_000_000n) / 1000}` : '';
  return ` # ${labelSet(labels) || '{}'} ${formatNumber(ex.value)}${ts}`;
}

function sampleLine(name: string, labels: string, value: number, s: Series, opts: WriteOptions, ex?: Exemplar): string {
  const ts = opts.sendTimestamps ? ` ${opts.format === 'openmetrics' ? s.timeMs / 1000 : s.timeMs}` : '';
  return `${name}${labels} ${formatNumber(value)}${ts}${exemplarSuffix(ex, opts)}\n`;
}

export function writeFamily(fam: Family, opts: WriteOptions): string {
  const om = opts.format === 'openmetrics';
  // OpenMetrics: a counter family is named without `_total`, its samples with it.
  const familyName = om && fam.type === 'counter' && fam.name.endsWith('_total') ? fam.name.slice(0, -'_total'.length) : fam.name;
  let out = '';
  if (fam.help !== '') out += `# HELP ${familyName} ${escapeHelp(fam.help, opts.format)}\n`;
  out += `# TYPE ${familyName} ${fam.type}\n`;
  for (const s of fam.series.values()) {
    switch (fam.type) {
      case 'gauge':
        out += sampleLine(fam.name, labelSet(s.labels), s.value, s, opts);
        break;
      case 'counter':
        out += sampleLine(om ? `${familyName}_total` : fam.name, labelSet(s.labels), s.value, s, opts, s.exemplar);
        break;
      case 'histogram': {
        const h = s.histogram!;
        let cumulative = 0;
        h.counts.forEach((c, i) => {
          cumulative += c;
          const le = i < h.bounds.length ? formatNumber(h.bounds[i]!) : '+Inf';
          out += sampleLine(`${fam.name}_bucket`, labelSet(s.labels, ['le', le]), cumulative, s, opts, h.exemplars[i]);
        });
        out += sampleLine(`${fam.name}_sum`, labelSet(s.labels), h.sum, s, opts);
        out += sampleLine(`${fam.name}_count`, labelSet(s.labels), h.count, s, opts);
        break;
      }
      case 'summary': {
        const q = s.summary!;
        for (const { quantile, value } of q.quantiles) {
          out += sampleLine(fam.name, labelSet(s.labels, ['quantile', formatNumber(quantile)]), value, s, opts);
        }
        out += sampleLine(`${fam.name}_sum`, labelSet(s.labels), q.sum, s, opts);
        out += sampleLine(`${fam.name}_count`, labelSet(s.labels), q.count, s, opts);
        break;
      }
    }
  }
  return out;
}
