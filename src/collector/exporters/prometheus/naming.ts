// OTLP → Prometheus name translation, following the Collector's pkg/translator/prometheus
// (normalize_name.go, normalize_label.go). One deliberate difference: the Collector keeps any
// Unicode letter, which the classic text format forbids; Sonde keeps ASCII letters and digits only,
// so every name it writes is valid for every Prometheus version.
import type { MetricData } from '../../pdata/model.js';

/** UCUM unit → Prometheus unit word (unitMap upstream). Units not listed are used as written. */
const unitWords: Record<string, string> = {
  d: 'days', h: 'hours', min: 'minutes', s: 'seconds', ms: 'milliseconds', us: 'microseconds', ns: 'nanoseconds',
  By: 'bytes', KiBy: 'kibibytes', MiBy: 'mebibytes', GiBy: 'gibibytes', TiBy: 'tibibytes',
  KBy: 'kilobytes', MBy: 'megabytes', GBy: 'gigabytes', TBy: 'terabytes',
  m: 'meters', V: 'volts', A: 'amperes', J: 'joules', W: 'watts', g: 'grams',
  Cel: 'celsius', Hz: 'hertz', '1': '', '%': 'percent',
};
/** The unit after `/`, in the singular (perUnitMap upstream). */
const perUnitWords: Record<string, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year' };

const alnumTokens = (s: string): string[] => s.split(/[^A-Za-z0-9]+/).filter((t) => t !== '');
const cleanUp = (s: string): string => alnumTokens(s).join('_');

export interface NameableMetric { name: string; unit: string; data: Pick<MetricData, 'type'> & { isMonotonic?: boolean } }

/**
 * The Prometheus metric family name for an OTLP metric. With `addSuffixes` (the default) this is the
 * full normalisation: unit word appended unless already in the name, `X/Y` → `X_per_Y`, `{…}` units
 * dropped, `_total` on monotonic sums, `_ratio` on gauges with unit `1`. Without it, only invalid
 * characters are replaced.
 */
export function prometheusMetricName(metric: NameableMetric, namespace: string, addSuffixes: boolean): string {
  if (!addSuffixes) {
    const name = metric.name.split(/[^A-Za-z0-9_:]+/).filter((t) => t !== '').join('_');
    if (namespace !== '') return `${namespace}_${name}`;
    return /^[0-9]/.test(name) ? `_${name}` : name;
  }
  let tokens = alnumTokens(metric.name);
  const slash = metric.unit.indexOf('/');
  const mainUnit = (slash < 0 ? metric.unit : metric.unit.slice(0, slash)).trim();
  const perUnit = slash < 0 ? '' : metric.unit.slice(slash + 1).trim();
  if (mainUnit !== '' && !/[{}]/.test(mainUnit)) {
    const word = cleanUp(unitWords[mainUnit] ?? mainUnit);
    if (word !== '' && !tokens.includes(word)) tokens.push(word);
  }
  if (perUnit !== '' && !/[{}]/.test(perUnit)) {
    const word = cleanUp(perUnitWords[perUnit] ?? perUnit);
    if (word !== '' && !tokens.includes(word)) tokens.push('per', word);
  }
  if (metric.data.type === 'sum' && metric.data.isMonotonic) tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
  if (metric.unit === '1' && metric.data.type === 'gauge') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
  if (namespace !== '') tokens.unshift(namespace);
  const name = tokens.join('_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/**
 * A Prometheus label name for an attribute key: every character other than a letter or digit
 * becomes `_`; a leading digit gets `key_`; a single leading `_` gets `key` (upstream's default,
 * the PermissiveLabelSanitization gate being off); a leading `__` is kept, as upstream does,
 * although Prometheus treats such labels as reserved and drops them after relabelling.
 */
export function prometheusLabelName(key: string): string {
  if (key === '') return key;
  const label = key.replace(/[^A-Za-z0-9]/g, '_');
  if (/^[0-9]/.test(label)) return `key_${label}`;
  if (label.startsWith('_') && !label.startsWith('__')) return `key${label}`;
  return label;
}
