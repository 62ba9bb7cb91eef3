// The config of a Service whose `ebpf` receiver feeds one traces and one metrics pipeline: the
// integration tests' agent (test/integration/harness.ts) and bench/overhead's `sonde` mode write it
// from this one template.

export interface EbpfServiceYamlOptions {
  /** Ports the `ebpf` receiver captures. */
  ports: number[];
  /** More lines under the `ebpf` receiver, indented by 4 spaces (e.g. `    flush_interval: 100ms`). */
  ebpfExtra?: string;
  /** Other receivers feeding both pipelines after `ebpf`: their lines under `receivers:` (indented by 2) and their names. */
  otherReceivers?: { yaml: string; names: string[] };
  /** Processors both pipelines run: their lines under `processors:` (indented by 2) and their names, in order. */
  processors?: { yaml: string; names: string[] };
  /** Lines under `exporters:`, indented by 2. */
  exportersYaml: string;
  tracesExporters: string[];
  metricsExporters: string[];
}

/** `text` as whole lines (a newline after its last one), or nothing when it is empty. */
const lines = (text: string | undefined) => (text?.trimEnd() ? `${text.trimEnd()}\n` : '');

export function ebpfServiceYaml(o: EbpfServiceYamlOptions): string {
  const receivers = ['ebpf', ...(o.otherReceivers?.names ?? [])].join(', ');
  const processors = o.processors ? `      processors: [${o.processors.names.join(', ')}]\n` : '';
  return `\
receivers:
${lines(o.otherReceivers?.yaml)}  ebpf:
    ports: [${o.ports.join(', ')}]
${lines(o.ebpfExtra)}
${o.processors ? `processors:\n${lines(o.processors.yaml)}\n` : ''}exporters:
${lines(o.exportersYaml)}
service:
  pipelines:
    traces:
      receivers: [${receivers}]
${processors}      exporters: [${o.tracesExporters.join(', ')}]
    metrics:
      receivers: [${receivers}]
${processors}      exporters: [${o.metricsExporters.join(', ')}]
`;
}
