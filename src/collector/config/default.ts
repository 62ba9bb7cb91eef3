// The embedded default config (`sonde run` without --config, `npm start`): eBPF capture of every
// process on the host (optional here: a host that cannot load the probes gets a clear message and
// the rest keeps running), OTLP in on the loopback for SDK apps, a memory limit and batching,
// Prometheus on 127.0.0.1:9464 (RED metrics and the service graph), one console line per span and
// a short summary of the rest.
export const DEFAULT_CONFIG_YAML = `\
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
      http:
        endpoint: 127.0.0.1:4318
  ebpf:
    required: false

processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 512
    spike_limit_mib: 128
  batch: {}

connectors:
  servicegraph:
    metrics_flush_interval: 15s

exporters:
  prometheus:
    endpoint: 127.0.0.1:9464
  debug:
    verbosity: basic
  debug/spans:
    verbosity: normal
    use_internal_logger: false

service:
  pipelines:
    traces:
      receivers: [otlp, ebpf]
      processors: [memory_limiter, batch]
      exporters: [debug/spans, servicegraph]
    metrics:
      receivers: [otlp, ebpf, servicegraph]
      processors: [memory_limiter, batch]
      exporters: [prometheus, debug]
    logs:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [debug]
`;
