// Shared helpers for the collector tests: free loopback ports, a Service started from YAML with a
// silent logger, the otlp receiver's config line, reading the file exporter's output, polling.
import { readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { Service } from '../../src/collector/service/service.js';
import type { Signal, SignalData } from '../../src/collector/pdata/model.js';
import { decodeRequest } from '../../src/collector/pdata/otlp.js';
import type { FactoryMap } from '../../src/collector/components.js';

export { freePort } from '../helpers/net.js';

export const tempDir = (prefix = 'sonde-collector-') => mkdtempSync(join(tmpdir(), prefix));

export const quietLogger = () => pino({ level: process.env.SONDE_TEST_LOG ?? 'silent' });

export async function startService(yaml: string, opts: { registry?: FactoryMap; env?: Record<string, string> } = {}): Promise<Service> {
  const svc = await Service.fromYaml(yaml, { logger: quietLogger(), selfMetrics: new Registry(), ...opts });
  await svc.start();
  return svc;
}

export type OtlpProtocol = 'grpc' | 'http';

/**
 * The `receivers:` line of a test config: one otlp receiver with a loopback endpoint on `ports[p]`
 * for each protocol given, plus that protocol's `options` (flow-style YAML, e.g. `include_metadata: true`).
 */
export function receiverYaml(ports: Partial<Record<OtlpProtocol, number>>, options: Partial<Record<OtlpProtocol, string>> = {}): string {
  const protocols = (['grpc', 'http'] as const).filter((p) => ports[p] !== undefined)
    .map((p) => `${p}: { endpoint: "127.0.0.1:${ports[p]}"${options[p] ? `, ${options[p]}` : ''} }`);
  return `receivers: { otlp: { protocols: { ${protocols.join(', ')} } } }`;
}

/** Every request the file exporter wrote (one OTLP JSON request per line), decoded. */
export function readFileExport<S extends Signal>(path: string, signal: S): SignalData[S][] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => decodeRequest(signal, l, 'json'));
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The value of one self-metric series, or 0. */
export async function selfMetric(svc: Service, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = svc.host.selfMetrics.getSingleMetric(name);
  if (!m) return 0;
  const data = await m.get();
  let total = 0;
  for (const v of data.values) {
    if (Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want)) total += v.value;
  }
  return total;
}

/** A minimal OTLP data set covering every signal and all five metric types. */
export function sampleData(tag = 'x'): { traces: import('../../src/collector/pdata/model.js').Traces; metrics: import('../../src/collector/pdata/model.js').Metrics; logs: import('../../src/collector/pdata/model.js').Logs } {
  const resource = { attributes: { 'service.name': `svc-${tag}`, 'k8s.pod.uid': 'abc' }, droppedAttributesCount: 0 };
  const scope = { name: 'scope', version: '1.0', attributes: {}, droppedAttributesCount: 0 };
  const t0 = 1_700_000_000_000_000_000n;
  const base = { attributes: { route: '/r' }, startTimeUnixNano: t0, timeUnixNano: t0 + 1_000_000_000n, flags: 0 };
  return {
    traces: {
      resourceSpans: [{
        resource, schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
        scopeSpans: [{
          scope, schemaUrl: '',
          spans: [{
            traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', traceState: 'k=v', parentSpanId: 'eee19b7ec3c1b173', flags: 1,
            name: `GET /r ${tag}`, kind: 2, startTimeUnixNano: t0 + 123n, endTimeUnixNano: t0 + 5_000_123n,
            attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, big: 9_007_199_254_740_993n, pi: 3.25, raw: new Uint8Array([1, 2, 255]), nested: { kvlist: { a: [1, 'two', false] } } },
            droppedAttributesCount: 1, events: [{ timeUnixNano: t0 + 5n, name: 'e', attributes: { x: 1 }, droppedAttributesCount: 0 }], droppedEventsCount: 0,
            links: [{ traceId: '5b8efff798038103d269b633813fc60d', spanId: 'eee19b7ec3c1b175', traceState: '', attributes: {}, droppedAttributesCount: 0, flags: 0 }], droppedLinksCount: 0,
            status: { code: 2, message: 'failed' },
          }],
        }],
      }],
    },
    metrics: {
      resourceMetrics: [{
        resource, schemaUrl: '',
        scopeMetrics: [{
          scope, schemaUrl: '',
          metrics: [
            { name: `calls.${tag}`, description: 'calls', unit: '1', metadata: {}, data: { type: 'sum', aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ ...base, value: 42, valueType: 'int', exemplars: [{ filteredAttributes: { f: 'v' }, timeUnixNano: t0, value: 1.5, valueType: 'double', spanId: 'eee19b7ec3c1b174', traceId: '5b8efff798038103d269b633813fc60c' }] }] } },
            { name: 'temp', description: '', unit: 'Cel', metadata: {}, data: { type: 'gauge', dataPoints: [{ ...base, value: -3.5, valueType: 'double', exemplars: [] }] } },
            { name: 'latency', description: '', unit: 's', metadata: {}, data: { type: 'histogram', aggregationTemporality: 1, dataPoints: [{ ...base, count: 6, sum: 2.5, bucketCounts: [1, 2, 3], explicitBounds: [0.1, 1], exemplars: [], min: 0.05, max: 1.5 }] } },
            { name: 'size', description: '', unit: 'By', metadata: {}, data: { type: 'exponentialHistogram', aggregationTemporality: 2, dataPoints: [{ ...base, count: 5, sum: 100, scale: 3, zeroCount: 1, positive: { offset: -2, bucketCounts: [1, 2] }, negative: { offset: 0, bucketCounts: [1] }, exemplars: [], zeroThreshold: 0.001, min: -1, max: 60 }] } },
            { name: 'rpc.summary', description: '', unit: 'ms', metadata: {}, data: { type: 'summary', dataPoints: [{ ...base, count: 10, sum: 55, quantileValues: [{ quantile: 0.5, value: 5 }, { quantile: 0.99, value: 10 }] }] } },
          ],
        }],
      }],
    },
    logs: {
      resourceLogs: [{
        resource, schemaUrl: '',
        scopeLogs: [{
          scope, schemaUrl: '',
          logRecords: [{
            timeUnixNano: t0 + 7n, observedTimeUnixNano: t0 + 8n, severityNumber: 17, severityText: 'ERROR', body: `failure ${tag}`,
            attributes: { 'exception.type': 'E' }, droppedAttributesCount: 0, flags: 1, traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', eventName: 'app.failure',
          }],
        }],
      }],
    },
  };
}

/** The OpenTelemetry JS exporters' generated protobufjs classes: an OTLP decoder Sonde did not write. */
export const otelProto: any = createRequire(import.meta.url)('@opentelemetry/otlp-transformer/build/src/generated/root.js').opentelemetry.proto;
