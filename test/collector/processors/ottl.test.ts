// The OTTL condition subset: grammar, precedence, value semantics and error positions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileCondition, compileFlatCondition, OttlSyntaxError, type OttlRecord } from '../../../src/collector/internal/ottl/index.js';
import { SpanKind, StatusCode } from '../../../src/collector/pdata/model.js';
import { gauge, scope, span } from './support.js';

const resource = { attributes: { 'service.name': 'checkout', 'k8s.namespace': 'prod' }, droppedAttributesCount: 0 };
const rec = (p: Parameters<typeof span>[0] = {}): OttlRecord => ({ resource, scope: scope(), span: span(p) });
const evalSpan = (src: string, p: Parameters<typeof span>[0] = {}) => compileCondition(src, 'span').evaluate(rec(p));

test('comparisons on span fields, attributes and enums', () => {
  assert.equal(evalSpan('attributes["http.target"] == "/health"', { attributes: { 'http.target': '/health' } }), true);
  assert.equal(evalSpan('attributes["http.target"] == "/health"', { attributes: { 'http.target': '/api' } }), false);
  assert.equal(evalSpan('name != "GET /"'), false);
  assert.equal(evalSpan('kind == SPAN_KIND_SERVER', { kind: SpanKind.SERVER }), true);
  assert.equal(evalSpan('kind == 3', { kind: SpanKind.CLIENT }), true);
  assert.equal(evalSpan('status.code == STATUS_CODE_ERROR', { status: { code: StatusCode.ERROR, message: '' } }), true);
  assert.equal(evalSpan('resource.attributes["k8s.namespace"] == "prod"'), true);
  assert.equal(evalSpan('instrumentation_scope.name == "test-lib" and instrumentation_scope.version == "1.0.0"'), true);
  assert.equal(evalSpan('trace_id.string == "0af7651916cd43dd8448eb211c80319c"'), true);
  assert.equal(evalSpan('attributes["nested"]["inner"] == 7', { attributes: { nested: { kvlist: { inner: 7 } } } }), true);
  assert.equal(evalSpan('attributes["list"][1] == "b"', { attributes: { list: ['a', 'b'] } }), true);
});

test('duration arithmetic on int64 nanosecond timestamps stays exact', () => {
  const p = { startTimeUnixNano: 1_700_000_000_000_000_001n, endTimeUnixNano: 1_700_000_001_500_000_001n };
  assert.equal(evalSpan('end_time_unix_nano - start_time_unix_nano > 1000000000', p), true);
  assert.equal(evalSpan('end_time_unix_nano - start_time_unix_nano == 1500000000', p), true);
  assert.equal(evalSpan('(end_time_unix_nano - start_time_unix_nano) / 1000000 >= 1500', p), true);
  assert.equal(evalSpan('2 + 3 * 4 == 14'), true, '* binds tighter than +');
  assert.equal(evalSpan('(2 + 3) * 4 == 20'), true);
  assert.equal(evalSpan('-1 < 0'), true);
  assert.equal(evalSpan('7 / 2 == 3'), true, 'int division truncates like int64');
  assert.equal(evalSpan('7.0 / 2 == 3.5'), true);
});

test('and/or/not precedence: not binds tightest, then and, then or', () => {
  assert.equal(evalSpan('true or false and false'), true, 'and before or');
  assert.equal(evalSpan('(true or false) and false'), false);
  assert.equal(evalSpan('not false and false'), false, 'not before and');
  assert.equal(evalSpan('not (false and false)'), true);
  assert.equal(evalSpan('not name == "x"'), true, 'not applies to the whole comparison');
});

test('missing keys are nil; int and float compare as float; mixed types are simply unequal', () => {
  assert.equal(evalSpan('attributes["missing"] == nil'), true);
  assert.equal(evalSpan('attributes["missing"] != nil'), false);
  assert.equal(evalSpan('attributes["missing"] > 1'), false);
  assert.equal(evalSpan('attributes["missing"] == "x"'), false);
  assert.equal(evalSpan('attributes["n"] == 5.0', { attributes: { n: 5 } }), true);
  assert.equal(evalSpan('attributes["d"] < 2', { attributes: { d: 1.5 } }), true);
  assert.equal(evalSpan('attributes["s"] == 200', { attributes: { s: '200' } }), false);
  assert.equal(evalSpan('attributes["s"] != 200', { attributes: { s: '200' } }), true);
  assert.equal(evalSpan('attributes["s"] > 100', { attributes: { s: '200' } }), false, 'ordering across types is false');
  assert.equal(evalSpan('"abc" < "abd"'), true);
});

test('converters: IsMatch, Len, Int, Double, String, type tests', () => {
  assert.equal(evalSpan('IsMatch(attributes["url.path"], "^/api/v[0-9]+/")', { attributes: { 'url.path': '/api/v2/users' } }), true);
  assert.equal(evalSpan('IsMatch(attributes["missing"], ".*")'), false);
  assert.equal(evalSpan('IsMatch(attributes["code"], "^5")', { attributes: { code: 503 } }), true, 'ints match as their decimal string');
  assert.equal(evalSpan('Len(name) == 5'), true);
  assert.equal(evalSpan('Int(attributes["s"]) == 42', { attributes: { s: '42' } }), true);
  assert.equal(evalSpan('Double(attributes["s"]) > 1.4', { attributes: { s: '1.5' } }), true);
  assert.equal(evalSpan('String(attributes["n"]) == "12"', { attributes: { n: 12 } }), true);
  assert.equal(evalSpan('IsString(name) and IsInt(kind) and not IsDouble(kind)'), true);
});

test('other contexts: metric, datapoint, log, span event', () => {
  const metric = gauge('http.server.duration', [{ value: 3, attributes: { route: '/a' } }, { value: 2.5 }]);
  const base = { resource, scope: scope() };
  assert.equal(compileCondition('name == "http.server.duration" and type == METRIC_DATA_TYPE_GAUGE', 'metric').evaluate({ ...base, metric }), true);
  assert.equal(compileCondition('HasAttrKeyOnDatapoint("route")', 'metric').evaluate({ ...base, metric }), true);
  assert.equal(compileCondition('metric.name == "http.server.duration" and value_int == 3', 'datapoint')
    .evaluate({ ...base, metric, dataPoint: metric.data.dataPoints[0]! }), true);
  assert.equal(compileCondition('value_double > 2.0', 'datapoint').evaluate({ ...base, metric, dataPoint: metric.data.dataPoints[1]! }), true);
  const logRec = { timeUnixNano: 0n, observedTimeUnixNano: 0n, severityNumber: 17, severityText: 'ERROR', body: 'boom', attributes: {}, droppedAttributesCount: 0, flags: 0, traceId: '', spanId: '', eventName: '' };
  assert.equal(compileCondition('severity_number >= SEVERITY_NUMBER_ERROR and body == "boom"', 'log').evaluate({ ...base, log: logRec }), true);
  assert.equal(compileCondition('severity_number < SEVERITY_NUMBER_WARN', 'log').evaluate({ ...base, log: logRec }), false);
  const s = span({ events: [{ name: 'exception', timeUnixNano: 0n, attributes: {}, droppedAttributesCount: 0 }] });
  assert.equal(compileCondition('name == "exception" and span.name == "GET /"', 'spanevent').evaluate({ ...base, span: s, spanEvent: s.events[0]! }), true);
});

test('flat conditions infer the deepest context from their path prefixes', () => {
  assert.equal(compileFlatCondition('span.name == "x"', 'traces').context, 'span');
  assert.equal(compileFlatCondition('resource.attributes["a"] == "b"', 'traces').context, 'resource');
  assert.equal(compileFlatCondition('spanevent.name == "e" and span.name == "s"', 'traces').context, 'spanevent');
  assert.equal(compileFlatCondition('datapoint.attributes["x"] == 1 and metric.name == "m"', 'metrics').context, 'datapoint');
  assert.equal(compileFlatCondition('log.body == "x"', 'logs').context, 'log');
  assert.throws(() => compileFlatCondition('name == "x"', 'traces'), /needs a context prefix/);
  assert.throws(() => compileFlatCondition('log.body == "x"', 'traces'), /log context cannot be used in trace_conditions/);
});

test('syntax and path errors name the column', () => {
  const cases: Array<[string, RegExp]> = [
    ['name == ', /expected a value.*column 9/],
    ['name = "x"', /unexpected character "=" at column 6/],
    ['attributes["x" == 1', /expected "\]".*column 16/],
    ['nmae == "x"', /unknown path "nmae" in the span context.*column 1/],
    ['IsMatch(name, "(")', /invalid regular expression.*column 15/],
    ['Frobnicate(name)', /unknown converter "Frobnicate"/],
    ['name', /expected a condition/],
    ['STATUS_CODE_BAD == 1', /unknown enum "STATUS_CODE_BAD"/],
    ['"unterminated', /unterminated string literal at column 1/],
    ['metric.name == "x"', /not available in the span context/],
  ];
  for (const [src, re] of cases) {
    assert.throws(() => compileCondition(src, 'span'), (err: unknown) => err instanceof OttlSyntaxError && re.test(err.message), src);
  }
});

test('evaluation errors are reported, not swallowed', () => {
  assert.throws(() => evalSpan('name + 1 == 2'), /cannot apply "\+" to string and int/);
  assert.throws(() => evalSpan('1 / 0 == 1'), /division by zero/);
});
