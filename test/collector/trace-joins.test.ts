// TraceJoins: spans of an SDK trace that continues a captured one move into the captured trace;
// the SDK's root gets the captured caller as parent; other traces are untouched.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TraceJoins } from '../../src/collector/internal/trace-joins.js';
import { SpanKind, type Span, type Traces } from '../../src/collector/pdata/model.js';

const span = (traceId: string, spanId: string, parentSpanId: string): Span => ({
  traceId, spanId, parentSpanId, traceState: '', flags: 0, name: 'GET /r/*', kind: SpanKind.SERVER, startTimeUnixNano: 1n, endTimeUnixNano: 2n,
  attributes: {}, droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: 0, message: '' },
});
const traces = (spans: Span[]): Traces => ({ resourceSpans: [{ resource: { attributes: {}, droppedAttributesCount: 0 }, scopeSpans: [{ scope: { name: 'sdk', version: '', attributes: {}, droppedAttributesCount: 0 }, spans, schemaUrl: '' }], schemaUrl: '' }] });

const SDK = '11111111111111111111111111111111';
const CAPTURED = '22222222222222222222222222222222';
const OTHER = '33333333333333333333333333333333';

test('joined SDK spans move into the captured trace, the root under the captured caller', () => {
  const joins = new TraceJoins();
  joins.add({ sdkTraceId: SDK, traceId: CAPTURED, parentSpanId: 'cccccccccccccccc' });
  const td = traces([span(SDK, 'aaaaaaaaaaaaaaaa', ''), span(SDK, 'bbbbbbbbbbbbbbbb', 'aaaaaaaaaaaaaaaa'), span(OTHER, 'dddddddddddddddd', '')]);
  joins.rewrite(td);
  const [root, child, other] = td.resourceSpans[0]!.scopeSpans[0]!.spans;
  assert.deepEqual([root!.traceId, root!.parentSpanId], [CAPTURED, 'cccccccccccccccc']);
  assert.deepEqual([child!.traceId, child!.parentSpanId], [CAPTURED, 'aaaaaaaaaaaaaaaa']);
  assert.deepEqual([other!.traceId, other!.parentSpanId], [OTHER, '']);
});

test('a join without a captured parent leaves the SDK root a root', () => {
  const joins = new TraceJoins();
  joins.add({ sdkTraceId: SDK, traceId: CAPTURED, parentSpanId: '' });
  const td = traces([span(SDK, 'aaaaaaaaaaaaaaaa', '')]);
  joins.rewrite(td);
  assert.deepEqual([td.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId, td.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.parentSpanId], [CAPTURED, '']);
});
