// The `ebpf` receiver as a Collector component: defaults and validation through the config
// loader, `required` deciding whether a host that cannot load the probes stops the agent, and the
// embedded default config (npm start) carrying it in its traces and metrics pipelines.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { ConfigError } from '../../src/collector/config/config.js';
import { DEFAULT_CONFIG_YAML } from '../../src/collector/config/default.js';
import { otlpPortsWarning } from '../../src/collector/receivers/ebpf/config.js';
import { CapturedProcessIdentity } from '../../src/collector/receivers/ebpf/identity.js';
import { Service } from '../../src/collector/service/service.js';
import { quietLogger, selfMetric } from '../collector/helpers.js';

const pipelines = 'service: { pipelines: { traces: { receivers: [ebpf], exporters: [debug] }, metrics: { receivers: [ebpf], exporters: [debug] } } }';
const yaml = (ebpf: string) => `receivers:\n  ebpf: ${ebpf}\nexporters:\n  debug: { verbosity: basic }\n${pipelines}\n`;
const build = (ebpf: string) => Service.fromYaml(yaml(ebpf), { logger: quietLogger(), selfMetrics: new Registry() });

async function problems(ebpf: string): Promise<string[]> {
  try {
    await build(ebpf);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('ebpf receiver config', () => {
  it('defaults: everything optional, telemetry options passed through', async () => {
    const svc = await build('{}');
    const cfg = svc.config.receivers.get('ebpf')!.config as Record<string, unknown>;
    assert.equal(cfg.required, true);
    assert.equal(cfg.capture_bytes, 512);
    assert.equal(cfg.flush_interval, '1s');
    assert.equal(cfg.metrics_interval, '15s');
    assert.deepEqual((cfg.routes as { unmatched: string }).unmatched, 'heuristic');
  });

  it('rejects bad values with the option named', async () => {
    assert.match((await problems('{ capture_bytes: 4096 }'))[0]!, /capture_bytes: must be an integer between 1 and 1024/);
    assert.match((await problems('{ ports: [80, 70000] }'))[0]!, /ports: list at most 16 TCP ports/);
    assert.match((await problems('{ exe_path: "([" }'))[0]!, /exe_path: "\(\[" is not a valid regular expression/);
    assert.match((await problems('{ routes: { unmatched: everything } }'))[0]!, /routes\.unmatched: expected one of heuristic/);
    assert.match((await problems('{ buckets: { duration_seconds: [1, 0.5] } }'))[0]!, /strictly increasing/);
    assert.match((await problems('{ drain_interval: 5ms }'))[0]!, /drain_interval: must be between 10ms and 1s/);
    assert.match((await problems('{ capture_byte: 64 }'))[0]!, /invalid keys: capture_byte/);
  });

  it('required: true (the default when configured): a host that cannot load the probes stops the start with the fix', async () => {
    // An invalid cgroup filter fails like a missing capability does: with a BpfError and its remedy.
    const svc = await build('{ cgroup_path: /nonexistent/cgroup }');
    await assert.rejects(svc.start(), /cannot start receiver "ebpf": .*(cgroup filter \/nonexistent\/cgroup|cannot load eBPF probes)[\s\S]*fix: /);
  });

  it('required: false: the agent runs without capture and says so in a self-metric', async () => {
    const svc = await build('{ required: false, cgroup_path: /nonexistent/cgroup }');
    const original = console.error;
    const printed: string[] = [];
    console.error = (...args: unknown[]) => { printed.push(args.join(' ')); };
    try {
      await svc.start();
    } finally {
      console.error = original;
    }
    try {
      assert.match(printed.join('\n'), /eBPF capture \(receiver "ebpf"\) is OFF: [\s\S]*fix: /);
      assert.equal(await selfMetric(svc, 'sonde_ebpf_capture_enabled', { receiver: 'ebpf' }), 0);
    } finally {
      await svc.shutdown();
    }
  });

  it('warns once at start when `ports` hides the OTLP exports that exclude_otel_instrumented_services needs', async () => {
    const warning = otlpPortsWarning({ ports: [8080, 9090], exclude_otel_instrumented_services: true });
    assert.match(warning ?? '', /ports \[8080,9090\] has neither 4317 nor 4318[\s\S]*reported twice[\s\S]*Fix: add the port your SDKs export to/);
    for (const ok of [[], [8080, 4318], [4317]]) assert.equal(otlpPortsWarning({ ports: ok, exclude_otel_instrumented_services: true }), undefined, JSON.stringify(ok));
    assert.equal(otlpPortsWarning({ ports: [8080], exclude_otel_instrumented_services: false }), undefined);

    // The receiver logs it when it starts, before (and whether or not) the probes load.
    const startWarnings = async (ebpf: string): Promise<string[]> => {
      const lines: string[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => { lines.push(line); } });
      const svc = await Service.fromYaml(yaml(ebpf), { logger, selfMetrics: new Registry() });
      const original = console.error;
      console.error = () => {}; // the capture-off notice of `required: false`
      try {
        await svc.start();
      } finally {
        console.error = original;
        await svc.shutdown();
      }
      return lines.map((l) => (JSON.parse(l) as { msg: string }).msg).filter((m) => m.includes('exclude_otel_instrumented_services'));
    };
    const missing = await startWarnings('{ required: false, cgroup_path: /nonexistent/cgroup, ports: [8080, 9090] }');
    assert.deepEqual(missing, [warning]);
    assert.deepEqual(await startWarnings('{ required: false, cgroup_path: /nonexistent/cgroup, ports: [8080, 4317] }'), []);
  });

  it('the embedded default config has an optional ebpf receiver in the traces and metrics pipelines', async () => {
    const svc = await Service.fromYaml(DEFAULT_CONFIG_YAML, { logger: quietLogger(), selfMetrics: new Registry() });
    assert.equal((svc.config.receivers.get('ebpf')!.config as { required: boolean }).required, false);
    for (const signal of ['traces', 'metrics']) {
      assert.ok(svc.config.pipelines.find((p) => p.signal === signal)!.receivers.includes('ebpf'), signal);
    }
  });
});

describe('identity of captured processes', () => {
  it('a process gone from /proc keeps the name the kernel gave its connection', async () => {
    const { spawnSync } = await import('node:child_process');
    const gone = spawnSync('true').pid!; // exited: /proc/<pid> no longer exists
    const identity = new CapturedProcessIdentity();
    assert.match(identity.identify(gone).serviceName, /^unknown_service:/);
    identity.seen(gone, 'curl');
    const id = identity.identify(gone);
    assert.equal(id.serviceName, 'curl');
    assert.equal(id.resource.attributes['service.name'], 'curl');
    assert.equal(id.resource.attributes['process.pid'], gone);
    // A live process keeps what /proc says.
    identity.seen(process.pid, 'other-name');
    assert.notEqual(identity.identify(process.pid).serviceName, 'other-name');
  });
});
