// The pipeline graph: fan-out to several exporters, one receiver feeding several pipelines,
// connectors between pipelines, copies for mutating consumers, start/shutdown order, errors
// travelling back to the receiver. Uses small test components so it depends on no other folder.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import type { ConnectorFactory, ExporterFactory, ProcessorFactory, ReceiverFactory } from '../../src/collector/component.js';
import { makeRegistry } from '../../src/collector/components.js';
import { type Consumer, ConsumerError } from '../../src/collector/consumer.js';
import { asComponent, consumeOf } from '../../src/collector/internal/consumers.js';
import type { Signal, SignalData, Traces } from '../../src/collector/pdata/model.js';
import { countSpans } from '../../src/collector/pdata/util.js';
import { Service } from '../../src/collector/service/service.js';
import { quietLogger, sampleData } from './helpers.js';

function harness() {
  const events: string[] = [];
  const received = new Map<string, Array<{ signal: Signal; data: unknown }>>();
  const pushers = new Map<string, Partial<{ [S in Signal]: Consumer<S> }>>();
  const lifecycle = (name: string) => ({
    start: async () => { events.push(`start ${name}`); },
    shutdown: async () => { events.push(`stop ${name}`); },
  });
  const push: ReceiverFactory = {
    kind: 'receiver', type: 'push', signals: ['traces', 'metrics', 'logs'], createDefaultConfig: () => ({}),
    createReceiver: (s, _c, next) => { pushers.set(s.id.toString(), next); return lifecycle(`receiver ${s.id}`); },
  };
  const record: ExporterFactory<{ fail: string }> = {
    kind: 'exporter', type: 'record', signals: ['traces', 'metrics', 'logs'], createDefaultConfig: () => ({ fail: '' }),
    createExporter: (s, cfg, signal) => asComponent(signal, {
      consume: async (d) => {
        if (cfg.fail) throw new ConsumerError(`${s.id} failed`, cfg.fail as 'retryable');
        const list = received.get(s.id.toString()) ?? [];
        list.push({ signal, data: d });
        received.set(s.id.toString(), list);
      },
      ...lifecycle(`exporter ${s.id}/${signal}`),
    }),
  };
  // Renames every span in place: declares mutatesData so that the service gives it a copy.
  const rename: ProcessorFactory<{ to: string }> = {
    kind: 'processor', type: 'rename', signals: ['traces'], mutatesData: true, createDefaultConfig: () => ({ to: 'renamed' }),
    createProcessor: (s, cfg, signal, next) => asComponent(signal, {
      consume: async (d, ctx) => {
        for (const rs of (d as Traces).resourceSpans) for (const ss of rs.scopeSpans) for (const sp of ss.spans) sp.name = cfg.to;
        await consumeOf(signal, next)(d, ctx);
      },
      ...lifecycle(`processor ${s.id}`),
    }),
  };
  // traces → metrics: one data point per span, named after it.
  const count: ConnectorFactory = {
    kind: 'connector', type: 'count', signals: ['traces', 'metrics'], pairs: [['traces', 'metrics'], ['traces', 'traces']], createDefaultConfig: () => ({}),
    createConnector: (s, _c, from, to, next) => asComponent(from, {
      consume: async (d, ctx) => {
        if (to === 'traces') return consumeOf('traces', next as Consumer<'traces'>)(d as Traces, ctx);
        const n = countSpans(d as Traces);
        const md: SignalData['metrics'] = { resourceMetrics: [{ resource: { attributes: {}, droppedAttributesCount: 0 }, schemaUrl: '', scopeMetrics: [{ scope: { name: 'count', version: '', attributes: {}, droppedAttributesCount: 0 }, schemaUrl: '', metrics: [{ name: 'span.count', description: '', unit: '', metadata: {}, data: { type: 'sum', isMonotonic: true, aggregationTemporality: 1, dataPoints: [{ attributes: {}, startTimeUnixNano: 0n, timeUnixNano: 0n, flags: 0, value: n, valueType: 'int', exemplars: [] }] } }] }] }] };
        return consumeOf('metrics', next as Consumer<'metrics'>)(md, ctx);
      },
      ...lifecycle(`connector ${s.id} ${from}->${to}`),
    }),
  };
  const registry = makeRegistry({ receiver: [push], exporter: [record], processor: [rename], connector: [count] });
  const build = (yaml: string) => Service.fromYaml(yaml, { registry, logger: quietLogger() });
  const pushTraces = (id: string, td: Traces) => consumeOf('traces', pushers.get(id)!.traces!)(td);
  return { events, received, build, pushTraces };
}

const names = (data: unknown) => (data as Traces).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name)));

describe('service: pipeline graph', () => {
  it('fans out to several exporters and one receiver feeds several pipelines; mutating pipelines get copies', async () => {
    const h = harness();
    const svc = await h.build(`
receivers: { push: {} }
processors: { rename: { to: changed } }
exporters: { record/a: {}, record/b: {}, record/c: {} }
service:
  pipelines:
    traces/plain: { receivers: [push], exporters: [record/a, record/b] }
    traces/renamed: { receivers: [push], processors: [rename], exporters: [record/c] }
`);
    await svc.start();
    const td = sampleData('graph').traces;
    await h.pushTraces('push', td);
    assert.deepEqual(names(h.received.get('record/a')![0]!.data), ['GET /r graph']);
    assert.deepEqual(names(h.received.get('record/b')![0]!.data), ['GET /r graph']);
    assert.deepEqual(names(h.received.get('record/c')![0]!.data), ['changed']);
    assert.deepEqual(names(td), ['GET /r graph'], 'the receiver\'s batch was not mutated');
    await svc.shutdown();
  });

  it('connectors link pipelines (traces → metrics and traces → traces)', async () => {
    const h = harness();
    const svc = await h.build(`
receivers: { push: {} }
exporters: { record/m: {}, record/t: {} }
connectors: { count: {} }
service:
  pipelines:
    traces: { receivers: [push], exporters: [count] }
    metrics: { receivers: [count], exporters: [record/m] }
    traces/copy: { receivers: [count], exporters: [record/t] }
`);
    await svc.start();
    await h.pushTraces('push', sampleData('conn').traces);
    const m = h.received.get('record/m')![0]!;
    assert.equal(m.signal, 'metrics');
    assert.equal((m.data as SignalData['metrics']).resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.name, 'span.count');
    assert.deepEqual(names(h.received.get('record/t')![0]!.data), ['GET /r conn']);
    await svc.shutdown();
  });

  it('starts exporters → processors → connectors → receivers and stops along the graph (a component after what feeds it)', async () => {
    const h = harness();
    const svc = await h.build(`
receivers: { push: {} }
processors: { rename: {}, rename/2: {} }
exporters: { record: {} }
connectors: { count: {} }
service:
  pipelines:
    traces: { receivers: [push], processors: [rename, rename/2], exporters: [count] }
    metrics: { receivers: [count], exporters: [record] }
`);
    await svc.start();
    await svc.shutdown();
    await svc.shutdown(); // idempotent
    assert.deepEqual(h.events, [
      'start exporter record/metrics',
      'start processor rename/2',
      'start processor rename',
      'start connector count traces->metrics',
      'start receiver push',
      'stop receiver push',
      'stop processor rename',
      'stop processor rename/2',
      // The connector flushes into the metrics pipeline only after the processors feeding it flushed.
      'stop connector count traces->metrics',
      'stop exporter record/metrics',
    ]);
  });

  it('errors travel back to the receiver; a fan-out stays retryable only if every branch failed retryably', async () => {
    const h = harness();
    const svc = await h.build(`
receivers: { push: {}, push/2: {} }
exporters: { record/ok: {}, record/retry: { fail: retryable }, record/perm: { fail: permanent } }
service:
  pipelines:
    traces/a: { receivers: [push], exporters: [record/ok, record/retry] }
    traces/b: { receivers: [push/2], exporters: [record/retry, record/perm] }
`);
    await svc.start();
    await assert.rejects(h.pushTraces('push', sampleData('e').traces), (e: unknown) => e instanceof ConsumerError && e.kind === 'retryable' && /record\/retry failed/.test(e.message));
    assert.equal(h.received.get('record/ok')!.length, 1, 'the healthy branch still got the data');
    await assert.rejects(h.pushTraces('push/2', sampleData('e').traces), (e: unknown) => e instanceof ConsumerError && e.kind === 'permanent');
    await svc.shutdown();
  });

  it('a component that fails to start stops what already started and names itself', async () => {
    const taken = createServer();
    const port = await new Promise<number>((r) => taken.listen(0, '127.0.0.1', () => r((taken.address() as { port: number }).port)));
    const svc = await Service.fromYaml(`
receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:${port}" } } } }
exporters: { debug: {} }
service: { pipelines: { logs: { receivers: [otlp], exporters: [debug] } } }
`, { logger: quietLogger() });
    try {
      await assert.rejects(svc.start(), /cannot start receiver "otlp": otlp receiver: cannot listen for HTTP on 127.0.0.1:\d+: listen EADDRINUSE/);
    } finally {
      taken.close();
    }
  });
});
