// OTLP codec: protobuf and JSON round trips for every signal and metric type, checked against the
// OpenTelemetry JS project's own generated protobuf classes (a decoder Sonde did not write), and
// the JSON rules of the OTLP spec (hex ids in any case, int64 as string or number, unknown fields).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, encodeStatus, decodeStatus, OtlpDecodeError } from '../../src/collector/pdata/otlp.js';
import { countDataPoints, countLogRecords, countSpans, cloneData } from '../../src/collector/pdata/util.js';
import { otelProto, sampleData } from './helpers.js';


const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('OTLP codec', () => {
  const data = sampleData('codec');

  for (const encoding of ['proto', 'json'] as const) {
    it(`round-trips traces, metrics and logs through ${encoding}`, () => {
      assert.deepEqual(decodeRequest('traces', encodeRequest('traces', data.traces, encoding), encoding), data.traces);
      assert.deepEqual(decodeRequest('metrics', encodeRequest('metrics', data.metrics, encoding), encoding), data.metrics);
      assert.deepEqual(decodeRequest('logs', encodeRequest('logs', data.logs, encoding), encoding), data.logs);
    });
  }

  it('writes protobuf that the OpenTelemetry JS generated classes decode field for field', () => {
    const tr = otelProto.collector.trace.v1.ExportTraceServiceRequest.decode(encodeRequest('traces', data.traces, 'proto'));
    const span = tr.resourceSpans[0].scopeSpans[0].spans[0];
    assert.equal(hex(span.traceId), '5b8efff798038103d269b633813fc60c');
    assert.equal(hex(span.spanId), 'eee19b7ec3c1b174');
    assert.equal(hex(span.parentSpanId), 'eee19b7ec3c1b173');
    assert.equal(span.name, 'GET /r codec');
    assert.equal(span.kind, 2);
    assert.equal(span.startTimeUnixNano.toString(), '1700000000000000123');
    assert.equal(span.status.code, 2);
    const attrs = Object.fromEntries(span.attributes.map((kv: { key: string; value: Record<string, unknown> }) => [kv.key, kv.value]));
    assert.equal(attrs['http.request.method'].stringValue, 'GET');
    assert.equal(String(attrs['http.response.status_code'].intValue), '200');
    assert.equal(String(attrs.big.intValue), '9007199254740993');
    assert.equal(attrs.pi.doubleValue, 3.25);
    assert.deepEqual([...attrs.raw.bytesValue], [1, 2, 255]);

    const mr = otelProto.collector.metrics.v1.ExportMetricsServiceRequest.decode(encodeRequest('metrics', data.metrics, 'proto'));
    const metrics = mr.resourceMetrics[0].scopeMetrics[0].metrics;
    assert.equal(String(metrics[0].sum.dataPoints[0].asInt), '42');
    assert.equal(metrics[0].sum.isMonotonic, true);
    assert.equal(metrics[0].sum.dataPoints[0].exemplars[0].asDouble, 1.5);
    assert.equal(metrics[1].gauge.dataPoints[0].asDouble, -3.5);
    assert.deepEqual(metrics[2].histogram.dataPoints[0].bucketCounts.map(String), ['1', '2', '3']);
    assert.deepEqual(metrics[2].histogram.dataPoints[0].explicitBounds, [0.1, 1]);
    assert.equal(metrics[2].histogram.dataPoints[0].max, 1.5);
    assert.equal(metrics[3].exponentialHistogram.dataPoints[0].scale, 3);
    assert.equal(metrics[3].exponentialHistogram.dataPoints[0].positive.offset, -2);
    assert.equal(metrics[4].summary.dataPoints[0].quantileValues[1].value, 10);

    const lr = otelProto.collector.logs.v1.ExportLogsServiceRequest.decode(encodeRequest('logs', data.logs, 'proto'));
    const log = lr.resourceLogs[0].scopeLogs[0].logRecords[0];
    assert.equal(log.body.stringValue, 'failure codec');
    assert.equal(log.severityNumber, 17);
    assert.equal(log.eventName ?? 'app.failure', 'app.failure');
    assert.equal(hex(log.traceId), '5b8efff798038103d269b633813fc60c');
  });

  it('reads protobuf written by the OpenTelemetry JS generated classes', () => {
    const T = otelProto.collector.trace.v1.ExportTraceServiceRequest;
    const bytes = T.encode(T.fromObject({
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex'), spanId: Buffer.from('b7ad6b7169203331', 'hex'), name: 'from-otel', startTimeUnixNano: '1700000000000000001', attributes: [{ key: 'n', value: { intValue: -7 } }] }] }] }],
    })).finish();
    const td = decodeRequest('traces', bytes, 'proto');
    const s = td.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    assert.equal(s.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(s.startTimeUnixNano, 1700000000000000001n);
    assert.equal(s.attributes.n, -7);
  });

  it('accepts OTLP JSON per the spec: upper-case hex ids, int64 as numbers or strings, unknown fields ignored', () => {
    const td = decodeRequest('traces', JSON.stringify({
      resourceSpans: [{ futureField: { x: 1 }, scopeSpans: [{ spans: [{
        traceId: '5B8EFFF798038103D269B633813FC60C', spanId: 'EEE19B7EC3C1B174', name: 'n', kind: 3,
        startTimeUnixNano: 1000, endTimeUnixNano: '2000', attributes: [{ key: 'a', value: { intValue: 5 } }, { key: 'b', value: { intValue: '6' } }], somethingNew: true,
      }] }] }],
    }), 'json');
    const s = td.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    assert.equal(s.traceId, '5b8efff798038103d269b633813fc60c');
    assert.equal(s.spanId, 'eee19b7ec3c1b174');
    assert.equal(s.startTimeUnixNano, 1000n);
    assert.equal(s.endTimeUnixNano, 2000n);
    assert.deepEqual(s.attributes, { a: 5, b: 6 });
    const json = JSON.parse(encodeRequest('traces', td, 'json'));
    assert.equal(json.resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano, '1000');
    assert.equal(json.resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue, '5');
  });

  it('rejects malformed input with a reason', () => {
    assert.throws(() => decodeRequest('traces', Buffer.from([0x0a, 0xff, 0xff, 0xff]), 'proto'), OtlpDecodeError);
    assert.throws(() => decodeRequest('traces', '{"resourceSpans": [', 'json'), /invalid OTLP JSON traces request/);
    assert.throws(() => decodeRequest('traces', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}', 'json'), /span.traceId: "xyz" is not 32 hex digits/);
    assert.throws(() => decodeRequest('metrics', '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m"}]}]}]}', 'json'), /metric "m" has no data/);
    assert.throws(() => decodeRequest('logs', '[]', 'json'), /top level must be an object/);
  });

  it('never throws anything but OtlpDecodeError on corrupted protobuf or JSON (seeded fuzz)', () => {
    let seed = 12345;
    const rand = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    for (const signal of ['traces', 'metrics', 'logs'] as const) {
      const good = Buffer.from(encodeRequest(signal, data[signal], 'proto'));
      const json = encodeRequest(signal, data[signal], 'json');
      for (let i = 0; i < 1500; i++) {
        const bad = Buffer.from(good);
        for (let k = 0, n = 1 + rand(4); k < n; k++) bad[rand(bad.length)] = rand(256);
        const cut = rand(4) === 0 ? bad.subarray(0, rand(bad.length)) : bad;
        const badJson = json.slice(0, rand(json.length)) + json.slice(rand(json.length));
        for (const [body, enc] of [[cut, 'proto'], [badJson, 'json']] as const) {
          try {
            decodeRequest(signal, body, enc);
          } catch (err) {
            assert.ok(err instanceof OtlpDecodeError, `${signal}/${enc}: ${String(err)}`);
          }
        }
      }
    }
  });

  it('encodes responses with partial_success and google.rpc.Status bodies', () => {
    for (const enc of ['proto', 'json'] as const) {
      assert.equal(decodeResponse('traces', encodeResponse('traces', enc), enc), undefined);
      assert.deepEqual(decodeResponse('metrics', encodeResponse('metrics', enc, { rejected: 3, errorMessage: 'bad points' }), enc), { rejected: 3, errorMessage: 'bad points' });
      assert.deepEqual(decodeStatus(encodeStatus(3, 'bad', enc), enc), { code: 3, message: 'bad' });
    }
    const R = otelProto.collector.logs.v1.ExportLogsServiceResponse;
    const r = R.decode(encodeResponse('logs', 'proto', { rejected: 2, errorMessage: 'x' }));
    assert.equal(String(r.partialSuccess.rejectedLogRecords), '2');
  });

  it('counts items and clones deeply', () => {
    assert.equal(countSpans(data.traces), 1);
    assert.equal(countDataPoints(data.metrics), 5);
    assert.equal(countLogRecords(data.logs), 1);
    const c = cloneData('traces', data.traces);
    c.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.name = 'changed';
    assert.equal(data.traces.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.name, 'GET /r codec');
    assert.equal(c.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.startTimeUnixNano, 1700000000000000123n);
  });
});
