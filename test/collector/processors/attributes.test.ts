// attributes and resource processors: every action, value sources, include/exclude matching.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { attributesProcessorFactory } from '../../../src/collector/processors/attributes/factory.js';
import { resourceProcessorFactory } from '../../../src/collector/processors/resource/factory.js';
import { allSpans, gauge, logs, metrics, Sink, startProcessor, traces, validated } from './support.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

test('seed config: insert environment, delete http.user_agent', async () => {
  const sink = new Sink('traces');
  const { consume } = await startProcessor(attributesProcessorFactory, {
    actions: [
      { key: 'environment', value: 'production', action: 'insert' },
      { key: 'http.user_agent', action: 'delete' },
    ],
  }, 'traces', sink);
  await consume(traces({ items: [{ attributes: { 'http.user_agent': 'curl/8', a: 1 } }, { attributes: { environment: 'staging' } }] }));
  assert.deepEqual(allSpans(sink.received[0]!.data).map((s) => s.attributes), [
    { a: 1, environment: 'production' },
    { environment: 'staging' }, // insert never overwrites
  ]);
});

test('insert/update/upsert semantics and from_attribute / from_context sources', async () => {
  const sink = new Sink('traces');
  const { consume } = await startProcessor(attributesProcessorFactory, {
    actions: [
      { key: 'present', value: 'updated', action: 'update' },
      { key: 'absent', value: 'never', action: 'update' },
      { key: 'u', value: 1, action: 'upsert' },
      { key: 'copy', from_attribute: 'present', action: 'insert' },
      { key: 'tenant', from_context: 'metadata.X-Tenant', action: 'upsert' },
      { key: 'client', from_context: 'client.address', action: 'insert' },
    ],
  }, 'traces', sink);
  await consume(traces({ items: [{ attributes: { present: 'old', u: 0 } }] }), { metadata: { 'x-tenant': ['acme'] }, clientAddress: '127.0.0.1' });
  assert.deepEqual(allSpans(sink.received[0]!.data)[0]!.attributes, { present: 'updated', u: 1, copy: 'updated', tenant: 'acme', client: '127.0.0.1' });
});

test('delete and hash by key or pattern; hash matches the Collector byte encodings', async () => {
  const sink = new Sink('logs');
  const { consume } = await startProcessor(attributesProcessorFactory, {
    actions: [
      { pattern: '^secret\\.', action: 'delete' },
      { key: 'user.email', action: 'hash' },
      { key: 'user.id', action: 'hash' },
      { key: 'flag', action: 'hash' },
    ],
  }, 'logs', sink);
  await consume(logs({ items: [{ attributes: { 'secret.token': 'x', 'secret.key': 'y', 'user.email': 'a@b.c', 'user.id': 42, flag: true, keep: 1 } }] }));
  const attrs = sink.received[0]!.data.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.attributes;
  const le = Buffer.alloc(8); le.writeBigUInt64LE(42n);
  assert.deepEqual(attrs, { 'user.email': sha256('a@b.c'), 'user.id': sha256(le), flag: sha256(Buffer.from([1])), keep: 1 });
});

test('extract named groups and convert types', async () => {
  const sink = new Sink('traces');
  const { consume } = await startProcessor(attributesProcessorFactory, {
    actions: [
      { key: 'http.url', pattern: '^https?://(?<host>[^/]+)/(?<version>v\\d+)/', action: 'extract' },
      { key: 'status', converted_type: 'int', action: 'convert' },
      { key: 'ratio', converted_type: 'double', action: 'convert' },
      { key: 'count', converted_type: 'string', action: 'convert' },
      { key: 'bad', converted_type: 'int', action: 'convert' },
    ],
  }, 'traces', sink);
  await consume(traces({ items: [{ attributes: { 'http.url': 'https://shop.example/v2/cart', status: '503', ratio: '0.25', count: 7, bad: 'n/a' } }] }));
  assert.deepEqual(allSpans(sink.received[0]!.data)[0]!.attributes, {
    'http.url': 'https://shop.example/v2/cart', host: 'shop.example', version: 'v2', status: 503, ratio: 0.25, count: '7', bad: 'n/a',
  });
});

test('include/exclude: strict and regexp on services, span names, kinds, attributes, libraries', async () => {
  const sink = new Sink('traces');
  const { consume } = await startProcessor(attributesProcessorFactory, {
    actions: [{ key: 'tagged', value: true, action: 'upsert' }],
    include: { match_type: 'regexp', services: ['^check'], span_names: ['^GET '], span_kinds: ['SPAN_KIND_SERVER'] },
    exclude: { match_type: 'strict', attributes: [{ key: 'http.route', value: '/health' }] },
  }, 'traces', sink);
  await consume(traces(
    { items: [
      { name: 'GET /cart', kind: 2 },
      { name: 'GET /health', kind: 2, attributes: { 'http.route': '/health' } },
      { name: 'POST /cart', kind: 2 },
      { name: 'GET /client', kind: 3 },
    ] },
    { resource: { 'service.name': 'payments' }, items: [{ name: 'GET /pay', kind: 2 }] },
  ));
  assert.deepEqual(allSpans(sink.received[0]!.data).map((s) => [s.name, s.attributes.tagged === true]), [
    ['GET /cart', true], ['GET /health', false], ['POST /cart', false], ['GET /client', false], ['GET /pay', false],
  ]);
  const libSink = new Sink('traces');
  const lib = await startProcessor(attributesProcessorFactory, {
    actions: [{ key: 'tagged', value: true, action: 'upsert' }],
    include: { match_type: 'strict', libraries: [{ name: 'express' }], resources: [{ key: 'service.name', value: 'checkout' }] },
  }, 'traces', libSink);
  await lib.consume(traces({ scopeName: 'express', items: [{}] }, { scopeName: 'pg', items: [{}] }));
  assert.deepEqual(allSpans(libSink.received[0]!.data).map((s) => s.attributes.tagged === true), [true, false]);
});

test('metrics: actions apply to data point attributes of the matching metric names', async () => {
  const sink = new Sink('metrics');
  const { consume } = await startProcessor(attributesProcessorFactory, {
    actions: [{ key: 'host', action: 'delete' }],
    include: { match_type: 'strict', metric_names: ['requests'] },
  }, 'metrics', sink);
  await consume(metrics({ items: [gauge('requests', [{ value: 1, attributes: { host: 'a', k: 1 } }]), gauge('other', [{ value: 1, attributes: { host: 'b' } }])] }));
  const out = sink.received[0]!.data.resourceMetrics[0]!.scopeMetrics[0]!.metrics;
  assert.deepEqual(out.map((m) => m.data.dataPoints[0]!.attributes), [{ k: 1 }, { host: 'b' }]);
});

test('resource processor changes resource attributes; both declare mutatesData', async () => {
  const sink = new Sink('logs');
  const { consume } = await startProcessor(resourceProcessorFactory, {
    attributes: [
      { key: 'deployment.environment', value: 'production', action: 'upsert' },
      { key: 'host.name', action: 'delete' },
      { key: 'service.name', from_attribute: 'service.name', action: 'insert' },
    ],
  }, 'logs', sink);
  await consume(logs({ resource: { 'host.name': 'node-1' }, items: [{}] }));
  assert.deepEqual(sink.received[0]!.data.resourceLogs[0]!.resource.attributes, { 'service.name': 'checkout', 'deployment.environment': 'production' });
  assert.equal(resourceProcessorFactory.mutatesData, true);
  assert.equal(attributesProcessorFactory.mutatesData, true);
});

test('validation names the action and the fix', () => {
  const bad: Array<[unknown, RegExp]> = [
    [[], /actions: at least one action is required/],
    [[{ key: 'a', action: 'insert' }], /actions\[0\]: action "insert" needs exactly one of value, from_attribute or from_context \(got none\)/],
    [[{ key: 'a', action: 'explode' }], /actions\[0\]\.action: must be one of insert, update/],
    [[{ action: 'delete' }], /actions\[0\]: action "delete" needs key or pattern/],
    [[{ key: 'a', pattern: 'no-groups', action: 'extract' }], /extract needs at least one named group/],
    [[{ key: 'a', converted_type: 'float', action: 'convert' }], /converted_type: must be one of int, double, string/],
    [[{ key: 'a', value: 1, from_context: 'auth.subject', action: 'insert' }], /exactly one of/],
    [[{ key: 'a', from_context: 'auth.subject', action: 'insert' }], /from_context "auth.subject" is not supported/],
    [[{ key: 'a', value: 1, action: 'insert', valu: 2 }], /'actions\[0\]' has invalid keys: valu/],
  ];
  for (const [actions, re] of bad) assert.throws(() => validated(attributesProcessorFactory, { actions }), re);
  assert.throws(() => validated(attributesProcessorFactory, { actions: [{ key: 'a', action: 'delete' }], include: { match_type: 'fuzzy', services: ['x'] } }),
    /include\.match_type: must be one of strict, regexp/);
  assert.throws(() => validated(attributesProcessorFactory, { actions: [{ key: 'a', action: 'delete' }], include: { match_type: 'regexp', span_names: ['('] } }),
    /include\.span_names\[0\]: invalid regular expression/);
});
