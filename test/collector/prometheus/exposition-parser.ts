// A strict parser for the Prometheus text format 0.0.4 and OpenMetrics 1.0 text, written for the
// tests: it throws on any line that is not valid, on samples outside their family, on duplicate
// series, and on histograms whose buckets are not cumulative or do not end in +Inf = _count.
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
  exemplar?: { labels: Record<string, string>; value: number; timestamp?: number };
}
export interface ParsedFamily { name: string; type: string; help?: string; samples: Sample[] }

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const suffixes: Record<string, string[]> = {
  counter: ['', '_total', '_created'], gauge: [''], untyped: [''], unknown: [''], info: ['_info'], stateset: [''],
  histogram: ['_bucket', '_sum', '_count', '_created'], summary: ['', '_sum', '_count', '_created'],
  gaugehistogram: ['_bucket', '_gsum', '_gcount'],
};

function parseValue(text: string, line: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`invalid number "${text}" in line: ${line}`);
  return Number(text);
}

/** Parses `{a="b",...}` at the start of `s`; returns the labels and the rest of the string. */
function parseLabels(s: string, line: string): [Record<string, string>, string] {
  const labels: Record<string, string> = {};
  if (!s.startsWith('{')) return [labels, s];
  let i = 1;
  while (s[i] !== '}') {
    const m = labelName.exec(s.slice(i));
    if (!m) throw new Error(`invalid label name at "${s.slice(i)}" in line: ${line}`);
    const name = m[0];
    i += name.length;
    if (s[i] !== '=' || s[i + 1] !== '"') throw new Error(`expected ="..." after label ${name} in line: ${line}`);
    i += 2;
    let value = '';
    for (;;) {
      const c = s[i];
      if (c === undefined) throw new Error(`unterminated label value in line: ${line}`);
      if (c === '"') { i++; break; }
      if (c === '\\') {
        const n = s[i + 1];
        if (n === 'n') value += '\n';
        else if (n === '\\' || n === '"') value += n;
        else throw new Error(`invalid escape \\${n} in line: ${line}`);
        i += 2;
      } else if (c === '\n') {
        throw new Error(`raw newline in label value: ${line}`);
      } else { value += c; i++; }
    }
    if (name in labels) throw new Error(`duplicate label ${name} in line: ${line}`);
    labels[name] = value;
    if (s[i] === ',') i++;
    else if (s[i] !== '}') throw new Error(`expected , or } at "${s.slice(i)}" in line: ${line}`);
  }
  return [labels, s.slice(i + 1)];
}

export function parseExposition(text: string, format: 'prometheus' | 'openmetrics' = 'prometheus'): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  const seenSeries = new Set<string>();
  let current: ParsedFamily | undefined;
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('exposition does not end with a newline');
  lines.pop();
  if (format === 'openmetrics') {
    if (lines.at(-1) !== '# EOF') throw new Error('OpenMetrics exposition does not end with # EOF');
    lines.pop();
    if (lines.includes('# EOF')) throw new Error('# EOF before the end');
  }
  const family = (name: string): ParsedFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const line of lines) {
    if (line === '') {
      if (format === 'openmetrics') throw new Error('blank line in OpenMetrics exposition');
      continue;
    }
    const meta = /^# (HELP|TYPE|UNIT) (\S+)(?: (.*))?$/.exec(line);
    if (meta) {
      const [, kind, name, rest = ''] = meta;
      if (!metricName.test(name!) || metricName.exec(name!)![0] !== name) throw new Error(`invalid metric name in: ${line}`);
      const f = family(name!);
      if (current !== f && f.samples.length > 0) throw new Error(`metadata for ${name} after its samples: ${line}`);
      if (kind === 'TYPE') {
        if (!(rest in suffixes)) throw new Error(`unknown type "${rest}" in: ${line}`);
        if (f.type !== 'untyped') throw new Error(`second TYPE line for ${name}`);
        f.type = rest;
      } else if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`second HELP line for ${name}`);
        f.help = rest;
      }
      current = f;
      continue;
    }
    if (line.startsWith('#')) {
      if (format === 'openmetrics') throw new Error(`unknown comment in OpenMetrics: ${line}`);
      continue;
    }
    const nm = metricName.exec(line);
    if (!nm) throw new Error(`invalid sample line: ${line}`);
    const name = nm[0];
    const [labels, afterLabels] = parseLabels(line.slice(name.length), line);
    const [samplePart, exemplarPart] = afterLabels.split(' # ');
    const fields = samplePart!.trim().split(' ');
    if (!afterLabels.startsWith(' ') || fields.length < 1 || fields.length > 2) throw new Error(`invalid sample line: ${line}`);
    const sample: Sample = { name, labels, value: parseValue(fields[0]!, line) };
    if (fields[1] !== undefined) sample.timestamp = parseValue(fields[1], line);
    if (exemplarPart !== undefined) {
      if (format !== 'openmetrics') throw new Error(`exemplar outside OpenMetrics: ${line}`);
      const [exLabels, exRest] = parseLabels(exemplarPart, line);
      const exFields = exRest.trim().split(' ');
      sample.exemplar = { labels: exLabels, value: parseValue(exFields[0]!, line) };
      if (exFields[1] !== undefined) sample.exemplar.timestamp = parseValue(exFields[1], line);
    }
    // The sample must belong to the current family: its name is the family name plus a type suffix.
    const owner = current && suffixes[current.type]!.some((sfx) => current!.name + sfx === name) ? current : undefined;
    if (!owner) {
      if (format === 'openmetrics') throw new Error(`sample ${name} outside its family (current: ${current?.name})`);
      current = family(name);
    }
    if (format === 'openmetrics' && current!.type === 'counter' && !name.endsWith('_total') && !name.endsWith('_created')) {
      throw new Error(`OpenMetrics counter sample without _total: ${line}`);
    }
    const seriesKey = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSeries.has(seriesKey)) throw new Error(`duplicate series: ${line}`);
    seenSeries.add(seriesKey);
    current!.samples.push(sample);
  }
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: ParsedFamily): void {
  const groups = new Map<string, Sample[]>();
  for (const s of f.samples) {
    if (!s.name.endsWith('_bucket')) continue;
    const { le, ...rest } = s.labels;
    if (le === undefined) throw new Error(`bucket without le in ${f.name}`);
    const key = JSON.stringify(Object.entries(rest).sort());
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  for (const [key, buckets] of groups) {
    let prevLe = -Infinity;
    let prevCount = 0;
    for (const b of buckets) {
      const le = parseValue(b.labels.le!, b.labels.le!);
      if (!(le > prevLe)) throw new Error(`${f.name}${key}: le ${b.labels.le} not increasing`);
      if (b.value < prevCount) throw new Error(`${f.name}${key}: bucket counts not cumulative at le=${b.labels.le}`);
      prevLe = le;
      prevCount = b.value;
    }
    if (prevLe !== Infinity) throw new Error(`${f.name}${key}: no +Inf bucket`);
    const count = f.samples.find((s) => s.name === `${f.name}_count` && JSON.stringify(Object.entries(s.labels).sort()) === key);
    if (!count || count.value !== prevCount) throw new Error(`${f.name}${key}: _count ${count?.value} != +Inf bucket ${prevCount}`);
  }
}

/** The samples of `name` whose labels include every pair in `match`. */
export function findSamples(families: Map<string, ParsedFamily>, name: string, match: Record<string, string> = {}): Sample[] {
  const out: Sample[] = [];
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)) out.push(s);
    }
  }
  return out;
}
