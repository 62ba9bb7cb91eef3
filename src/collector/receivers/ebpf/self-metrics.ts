// The `ebpf` receiver's own health on the Host's prom-client registry (`sonde_ebpf_*`), read at
// scrape time from each running receiver: kernel counters from the probes' stats map, what the
// capture layer made of the traffic, and what the pipelines refused.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ExchangeAssemblerStats } from '../../../capture/exchange-assembler.js';
import type { ProbeStats } from '../../../ebpf/index.js';
import type { ExchangeTelemetryStats } from '../../../telemetry/index.js';

export interface EbpfReceiverSnapshot {
  /** 1 while the probes are loaded, 0 when capture is off (required: false and the host cannot load them). */
  enabled: boolean;
  /** Undefined until the probes were loaded. */
  kernel?: ProbeStats;
  capture?: ExchangeAssemblerStats;
  connectionsTracked: number;
  telemetry?: ExchangeTelemetryStats;
  /** Batches the pipelines refused, per signal. */
  refused: { traces: number; metrics: number };
}

type Labels = Record<string, string>;
type Series = Array<[Labels, number]>;

interface Spec {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labels: string[];
  values(s: EbpfReceiverSnapshot): Series;
}

const SPECS: Spec[] = [
  { name: 'sonde_ebpf_capture_enabled', help: 'Whether the receiver\'s eBPF probes are loaded (0: capture is off, see the log for why).', type: 'gauge', labels: [], values: (s) => [[{}, s.enabled ? 1 : 0]] },
  { name: 'sonde_ebpf_kernel_events_total', help: 'Records the probes emitted in the kernel, by kind.', type: 'counter', labels: ['kind'], values: (s) => (s.kernel ? [[{ kind: 'payload' }, s.kernel.payloadEvents], [{ kind: 'connection' }, s.kernel.connEvents]] : []) },
  { name: 'sonde_ebpf_kernel_dropped_total', help: 'Records lost in the kernel because the ring buffer was full.', type: 'counter', labels: [], values: (s) => (s.kernel ? [[{}, s.kernel.dropped]] : []) },
  { name: 'sonde_ebpf_kernel_filtered_total', help: 'Payload packets skipped in the kernel by the port and cgroup filters.', type: 'counter', labels: [], values: (s) => (s.kernel ? [[{}, s.kernel.filtered]] : []) },
  {
    name: 'sonde_ebpf_kernel_http2_packets_total', help: 'Packets of HTTP/2 connections walked frame by frame in the kernel.', type: 'counter', labels: [],
    values: (s) => (s.kernel ? [[{}, s.kernel.h2Packets]] : []),
  },
  {
    name: 'sonde_ebpf_kernel_http2_skipped_bytes_total', help: 'HTTP/2 DATA payload bytes the kernel did not copy (beyond the 5-byte gRPC prefix).', type: 'counter', labels: [],
    values: (s) => (s.kernel ? [[{}, s.kernel.h2SkippedBytes]] : []),
  },
  {
    name: 'sonde_ebpf_kernel_http2_desyncs_total', help: 'Times the kernel lost an HTTP/2 direction\'s frame boundaries.', type: 'counter', labels: [],
    values: (s) => (s.kernel ? [[{}, s.kernel.h2Desyncs]] : []),
  },
  {
    name: 'sonde_ebpf_exchanges_total', help: 'Request/response exchanges reconstructed, by protocol.', type: 'counter', labels: ['protocol'],
    values: (s) => (s.capture ? Object.entries(s.capture.exchanges).map(([protocol, n]) => [{ protocol }, n]) : []),
  },
  {
    name: 'sonde_ebpf_connections_ignored_total', help: 'Connections not parsed, by reason (not_http, filtered process, other_upgrade such as WebSocket).', type: 'counter', labels: ['reason'],
    values: (s) => (s.capture ? [[{ reason: 'not_http' }, s.capture.notHttp], [{ reason: 'filtered' }, s.capture.filtered], [{ reason: 'other_upgrade' }, s.capture.otherUpgrades]] : []),
  },
  {
    name: 'sonde_ebpf_connections_closed_early_total', help: 'Parsers closed before their connection ended, by reason (idle, evicted at max_connections).', type: 'counter', labels: ['reason'],
    values: (s) => (s.capture ? [[{ reason: 'idle' }, s.capture.idleClosed], [{ reason: 'evicted' }, s.capture.evicted]] : []),
  },
  {
    name: 'sonde_ebpf_parse_errors_total', help: 'Protocol grammar errors (HTTP/1.x malformed messages, HTTP/2 protocol and HPACK errors), by protocol.', type: 'counter', labels: ['protocol'],
    values: (s) => (s.capture ? [[{ protocol: 'http1' }, s.capture.parseErrors.http1], [{ protocol: 'http2' }, s.capture.parseErrors.http2]] : []),
  },
  { name: 'sonde_ebpf_http2_undecodable_streams_total', help: 'HTTP/2 streams not reported because their headers were not captured or could not be decoded.', type: 'counter', labels: [], values: (s) => [[{}, s.capture?.undecodableStreams ?? 0]] },
  {
    name: 'sonde_ebpf_in_process_parents_total',
    help: 'Client requests by how the request their process was serving was found (exact: thread per request; inferred: event loop) or why it was not (no_context: no thread reads known for the send, e.g. a send from softirq; not_serving: the thread\'s recent reads lead to no request being served). Unlinked calls keep their own trace and their per-connection links.',
    type: 'counter', labels: ['result'],
    values: (s) => (s.capture ? Object.entries({ exact: s.capture.parents.exact, inferred: s.capture.parents.inferred, no_context: s.capture.parents.noContext, not_serving: s.capture.parents.notServing }).map(([result, n]) => [{ result }, n]) : []),
  },
  {
    name: 'sonde_ebpf_trace_links_total',
    help: 'Spans put into their caller\'s trace, by link (in_process, in_process_inferred, same_host_connection, forwarded_traceparent: a proxy\'s call, sdk_trace_join: an SDK trace joined to the captured one).',
    type: 'counter', labels: ['link'],
    values: (s) => (s.telemetry
      ? [[{ link: 'in_process' }, s.telemetry.linkedInProcess], [{ link: 'in_process_inferred' }, s.telemetry.linkedInProcessInferred],
        [{ link: 'same_host_connection' }, s.telemetry.linkedByConnection], [{ link: 'forwarded_traceparent' }, s.telemetry.forwardedTraceparents],
        [{ link: 'sdk_trace_join' }, s.telemetry.traceJoins]]
      : []),
  },
  { name: 'sonde_ebpf_connections_tracked', help: 'Connections the receiver currently holds parser state for.', type: 'gauge', labels: [], values: (s) => [[{}, s.connectionsTracked]] },
  {
    name: 'sonde_ebpf_telemetry_dropped_total', help: 'Exchanges not reported as spans, by reason (ignored route, unsampled parent, spans over max_pending_spans, OTLP export or process exporting its own traces, failure).', type: 'counter', labels: ['reason'],
    values: (s) => (s.telemetry
      ? [[{ reason: 'ignored_route' }, s.telemetry.ignored], [{ reason: 'unsampled' }, s.telemetry.unsampled], [{ reason: 'pending_spans_full' }, s.telemetry.spansDropped],
        [{ reason: 'otel_instrumented' }, s.telemetry.otelInstrumented], [{ reason: 'failed' }, s.telemetry.failed]]
      : []),
  },
  {
    name: 'sonde_ebpf_red_metrics_dropped_total', help: 'Exchanges left out of the RED metrics only (their span is kept), by reason (otel_instrumented: the process exports its own metrics over OTLP).', type: 'counter', labels: ['reason'],
    values: (s) => (s.telemetry ? [[{ reason: 'otel_instrumented' }, s.telemetry.otelInstrumentedMetrics]] : []),
  },
  { name: 'sonde_ebpf_refused_batches_total', help: 'Span or metric batches the pipelines refused (dropped), by signal.', type: 'counter', labels: ['signal'], values: (s) => [[{ signal: 'traces' }, s.refused.traces], [{ signal: 'metrics' }, s.refused.metrics]] },
];

/** Running receivers per registry (a registry accepts each metric name once). */
const sources = new WeakMap<Registry, Map<string, () => EbpfReceiverSnapshot>>();

function register(registry: Registry, receivers: Map<string, () => EbpfReceiverSnapshot>): void {
  for (const spec of SPECS) {
    if (registry.getSingleMetric(spec.name)) continue;
    const labelNames = ['receiver', ...spec.labels];
    // Values are absolute readings: reset, then set each series from every receiver's snapshot.
    const collect = function (this: Counter<string> | Gauge<string>) {
      this.reset();
      for (const [receiver, snap] of receivers) {
        for (const [labels, value] of spec.values(snap())) {
          if (this instanceof Counter) this.inc({ receiver, ...labels }, value);
          else this.set({ receiver, ...labels }, value);
        }
      }
    };
    const Type = spec.type === 'counter' ? Counter : Gauge;
    new Type({ name: spec.name, help: spec.help, labelNames, registers: [registry], collect });
  }
}

/** Publishes a receiver's snapshot under `receiver="<id>"`; returns the function that withdraws it. */
export function publishEbpfSelfMetrics(registry: Registry, receiverId: string, snapshot: () => EbpfReceiverSnapshot): () => void {
  let receivers = sources.get(registry);
  if (!receivers) {
    receivers = new Map();
    sources.set(registry, receivers);
  }
  register(registry, receivers);
  receivers.set(receiverId, snapshot);
  return () => receivers.delete(receiverId);
}
