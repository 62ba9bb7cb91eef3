// The embedded default config (`sonde run` without --config, `npm start`): OTLP in on the
// loopback for SDK apps, a memory limit and batching, Prometheus on 127.0.0.1:9464 and a short
// console summary. The eBPF receiver joins these pipelines when it exists.
export const DEFAULT_CONFIG_YAML = `\
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
      http:
        endpoint: 127.0.0.1:4318

processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 512
    spike_limit_mib: 128
  batch: {}

exporters:
  prometheus:
    endpoint: 127.0.0.1:9464
  debug:
    verbosity: basic

service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [debug]
    metrics:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [prometheus, debug]
    logs:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [debug]
`;
