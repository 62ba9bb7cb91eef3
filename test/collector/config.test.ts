// Config loading: env expansion, ids, strict keys, defaults, references, connectors, cycles, with
// the Collector's messages; `sonde validate` on files; the seed config from the issue.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ConnectorFactory } from '../../src/collector/component.js';
import { defaultRegistry, makeRegistry } from '../../src/collector/components.js';
import { ConfigError, loadConfig, parseComponentId } from '../../src/collector/config/config.js';
import { expandString } from '../../src/collector/config/expand.js';
import { exporterFactories } from '../../src/collector/exporters/index.js';
import { parseDuration } from '../../src/collector/internal/duration.js';
import { packageRoot } from '../../src/util/package-root.js';
import { receiverFactories } from '../../src/collector/receivers/index.js';
import { tempDir } from './helpers.js';

// Tests use only B's components plus a test connector, so they do not depend on other folders.
const forward: ConnectorFactory = {
  kind: 'connector', type: 'forward', signals: ['traces', 'metrics', 'logs'],
  pairs: [['traces', 'traces'], ['metrics', 'metrics'], ['logs', 'logs']],
  createDefaultConfig: () => ({}),
  createConnector: () => { throw new Error('not used'); },
};
const registry = makeRegistry({ receiver: receiverFactories.filter((f) => f.type === 'otlp'), exporter: exporterFactories.filter((f) => ['otlp', 'otlphttp', 'file', 'debug'].includes(f.type)), connector: [forward] });

function problems(yaml: string, env: Record<string, string> = {}): string[] {
  try {
    loadConfig(yaml, registry, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const base = (pipelines: string, extra = '') => `
receivers: { otlp: { protocols: { grpc: } } }
exporters: { debug: {}, file: { path: /tmp/x.jsonl } }
connectors: { forward: {}, forward/2: {} }
${extra}
service:
  pipelines:
${pipelines}
`;

describe('config: environment expansion', () => {
  it('expands ${env:VAR}, ${VAR}, defaults and $$, and leaves bare $VAR alone', () => {
    const env = { HOST: '127.0.0.9', PORT: '4999', EMPTY: '' };
    assert.equal(expandString('${env:HOST}:${PORT}', env, 'x').value, '127.0.0.9:4999');
    assert.equal(expandString('${env:MISSING:-fallback}', env, 'x').value, 'fallback');
    assert.equal(expandString('${EMPTY:-d}', env, 'x').value, 'd');
    assert.equal(expandString('$$HOME and $${env:HOST}', env, 'x').value, '$HOME and ${env:HOST}');
    assert.equal(expandString('$HOST', env, 'x').value, '$HOST');
    assert.throws(() => expandString('${env:1BAD}', env, 'a::b'), /a::b: environment variable name "1BAD"/);
    assert.throws(() => expandString('${file:/etc/passwd}', env, 'x'), /unsupported config provider/);
  });

  it('types a whole-value reference like the Collector (numbers stay numbers)', () => {
    const cfg = loadConfig(`
receivers:
  otlp:
    protocols:
      http:
        endpoint: \${env:H}:\${env:P}
        max_request_body_size: \${env:MAX}
exporters: { file: { path: "\${env:DIR:-/tmp}/out.jsonl" } }
service: { pipelines: { traces: { receivers: [otlp], exporters: [file] } } }
`, registry, { H: '127.0.0.1', P: '5000', MAX: '1024' });
    const otlp = cfg.receivers.get('otlp')!.config;
    assert.equal(otlp.protocols.http.endpoint, '127.0.0.1:5000');
    assert.equal(otlp.protocols.http.max_request_body_size, 1024);
    assert.equal(otlp.protocols.grpc, null, 'only listed protocols are enabled');
    assert.equal(cfg.exporters.get('file')!.config.path, '/tmp/out.jsonl');
  });
});

describe('config: strict validation with the Collector\'s messages', () => {
  it('ids', () => {
    assert.throws(() => parseComponentId('otlp/'), /in "otlp\/" id: the part after \/ should not be empty/);
    assert.throws(() => parseComponentId('9otlp'), /invalid character/);
    assert.deepEqual([parseComponentId('otlp/tempo').type, parseComponentId('otlp/tempo').name], ['otlp', 'tempo']);
  });

  it('unknown component types list the valid values', () => {
    assert.deepEqual(problems(base('    traces: { receivers: [otlp], exporters: [debug] }', 'processors: { nope: {} }')),
      ['processors: unknown type: "nope" for id: "nope" (valid values: [])']);
    const p = problems(base('    traces: { receivers: [otlp], exporters: [debug] }').replace('debug: {}', 'debug: {}, loki: {}'));
    assert.deepEqual(p, ['exporters: unknown type: "loki" for id: "loki" (valid values: [debug file otlp otlp_grpc otlp_http otlphttp])']);
  });

  it('unknown keys name the exact path', () => {
    assert.deepEqual(problems(base('    traces: { receivers: [otlp], exporters: [debug] }').replace('grpc: }', 'grpc: { foo: 1, endpoint: "127.0.0.1:1" }, bar: {} }')),
      ["'receivers::otlp::protocols::grpc' has invalid keys: foo", "'receivers::otlp::protocols' has invalid keys: bar"]);
    assert.deepEqual(problems(base('    traces: { receivers: [otlp], exporters: [debug] }', 'extra: 1')), ["'' has invalid keys: extra"]);
    assert.deepEqual(problems(`${base('    traces: { receivers: [otlp], exporters: [debug] }')}  telemetry: { foo: 1 }\n`), ["'service::telemetry' has invalid keys: foo"]);
  });

  it('wrong value types and component validation errors are prefixed with the component', () => {
    assert.deepEqual(problems(base('    traces: { receivers: [otlp], exporters: [file] }').replace('path: /tmp/x.jsonl', 'path: ""')), ['exporters::file: path must be non-empty']);
    assert.deepEqual(problems(base('    traces: { receivers: [otlp], exporters: [debug] }').replace('debug: {}', 'debug: { verbosity: loud }')),
      ['exporters::debug: verbosity: unknown level "loud" (valid values: [basic normal detailed])']);
    assert.deepEqual(problems(base('    traces: { receivers: [otlp], exporters: [debug] }').replace('debug: {}', 'debug: { sampling_initial: lots }')),
      ["'exporters::debug::sampling_initial' expected a number, got string \"lots\""]);
    assert.deepEqual(problems(base('    traces: { receivers: [otlp], exporters: [debug] }').replace('{ protocols: { grpc: } }', '{ protocols: {} }')),
      ['receivers::otlp: must specify at least one protocol when using the OTLP receiver']);
  });

  it('pipelines: missing pipelines, receivers, exporters; dangling and duplicated references', () => {
    assert.deepEqual(problems(base('')), ['service must have at least one pipeline']);
    assert.deepEqual(problems(base('    traces: { exporters: [debug] }')), ['service::pipelines::traces: must have at least one receiver']);
    assert.deepEqual(problems(base('    traces: { receivers: [otlp] }')), ['service::pipelines::traces: must have at least one exporter']);
    assert.deepEqual(problems(base('    traces: { receivers: [otlp], processors: [x], exporters: [debug] }')),
      ['service::pipelines::traces: references processor "x" which is not configured']);
    assert.deepEqual(problems(base('    metrics/2: { receivers: [otlp, nope], exporters: [debug, debug] }')), [
      'service::pipelines::metrics/2: references receiver "nope" which is not configured',
      'service::pipelines::metrics/2: references exporter "debug" multiple times',
    ]);
    assert.deepEqual(problems(base('    spans: { receivers: [otlp], exporters: [debug] }')), ['service::pipelines::spans: unknown signal "spans" (valid values: [traces metrics logs])']);
    assert.deepEqual(problems(base('    traces: { receivers: [otlp], exporters: [debug] }', 'extensions: {}').replace('service:\n', 'service:\n  extensions: [health_check]\n')),
      ['service::extensions: references extension "health_check" which is not configured']);
  });

  it('connectors must be used on both sides, and cycles are rejected', () => {
    assert.deepEqual(problems(base('    traces: { receivers: [otlp], exporters: [forward] }')),
      ['connectors::forward: used as exporter in traces pipeline "traces" but not used in any supported receiver pipeline']);
    assert.deepEqual(problems(base('    traces: { receivers: [otlp], exporters: [forward] }\n    metrics: { receivers: [forward], exporters: [debug] }')), [
      'connectors::forward: used as exporter in traces pipeline "traces" but not used in any supported receiver pipeline',
      'connectors::forward: used as receiver in metrics pipeline "metrics" but not used in any supported exporter pipeline',
    ]);
    assert.deepEqual(problems(base([
      '    traces/a: { receivers: [otlp, forward/2], exporters: [forward] }',
      '    traces/b: { receivers: [forward], exporters: [forward/2, debug] }',
    ].join('\n'))), ['cycle detected: pipeline "traces/a" -> connector "forward" -> pipeline "traces/b" -> connector "forward/2" -> pipeline "traces/a"']);
    assert.deepEqual(problems(base('    traces/in: { receivers: [otlp], exporters: [forward] }\n    traces/out: { receivers: [forward], exporters: [debug] }')), []);
  });

  it('applies every default and accepts the newer type names', () => {
    const cfg = loadConfig(`
receivers: { otlp_grpc: { protocols: { grpc: , http: } } }
exporters: { otlp_http: { endpoint: "http://127.0.0.1:1" }, otlp/x: { endpoint: "127.0.0.1:2", sending_queue: { queue_size: 5 } } }
service: { pipelines: { logs: { receivers: [otlp_grpc], exporters: [otlp_http, otlp/x] } } }
`, registry, {});
    const r = cfg.receivers.get('otlp_grpc')!.config;
    assert.equal(r.protocols.grpc.endpoint, 'localhost:4317');
    assert.equal(r.protocols.http.endpoint, 'localhost:4318');
    assert.equal(r.protocols.http.max_request_body_size, 20 * 1024 * 1024);
    const h = cfg.exporters.get('otlp_http')!.config;
    assert.equal(h.timeout, '30s');
    assert.equal(h.compression, 'gzip');
    assert.equal(h.encoding, 'proto');
    assert.deepEqual(h.retry_on_failure, { enabled: true, initial_interval: '5s', max_interval: '30s', max_elapsed_time: '300s', multiplier: 1.5, randomization_factor: 0.5 });
    const g = cfg.exporters.get('otlp/x')!.config;
    assert.equal(g.timeout, '5s');
    assert.deepEqual({ ...g.sending_queue }, { enabled: true, num_consumers: 10, queue_size: 5, sizer: 'requests', block_on_overflow: false, storage: null, wait_for_result: false, batch: null });
    assert.equal(cfg.telemetry.logs.level, 'info');
  });

  it('durations', () => {
    assert.equal(parseDuration('200ms'), 200);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('0'), 0);
    assert.throws(() => parseDuration('5 seconds', 'timeout'), /timeout: invalid duration "5 seconds"/);
  });
});

describe('sonde validate', () => {
  // The CLI under test is the one compiled next to this test file (dist/ or dist-<tag>/).
  const cliHere = new URL('../../src/cli.js', import.meta.url).pathname;

  it('exits 0 on a valid file and 1 with every problem on an invalid one, binding nothing', () => {
    const dir = tempDir();
    const good = join(dir, 'good.yaml');
    const plain = (processors: string) => `
receivers: { otlp: { protocols: { grpc: } } }
exporters: { debug: {} }
service: { pipelines: { traces: { receivers: [otlp], processors: [${processors}], exporters: [debug] } } }
`;
    writeFileSync(good, plain(''));
    const ok = execFileSync(process.execPath, [cliHere, 'validate', '--config', good], { encoding: 'utf8' });
    assert.match(ok, /is valid: 1 pipeline\(s\): traces/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, plain('x'));
    const r = spawnSync(process.execPath, [cliHere, 'validate', `--config=${bad}`], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /service::pipelines::traces: references processor "x" which is not configured/);
    const missing = spawnSync(process.execPath, [cliHere, 'validate', '--config', join(dir, 'nope.yaml')], { encoding: 'utf8' });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read config file/);
  });

  it('the seed config validates except for the components Sonde lacks, named one by one', () => {
    const seed = join(packageRoot(), 'test', 'fixtures', 'seed-collector.yaml');
    const r = spawnSync(process.execPath, [cliHere, 'validate', '--config', seed], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('  - ')).map((l) => l.slice(4).replace(/ \(valid values: .*\)$/, ''));
    assert.deepEqual(lines, [
      'receivers: unknown type: "prometheus" for id: "prometheus"',
      'receivers: unknown type: "filelog" for id: "filelog"',
      'exporters: unknown type: "loki" for id: "loki"',
    ]);
  });

  it('the seed config without those components validates against the built-in registry', () => {
    const text = readFileSync(join(packageRoot(), 'test', 'fixtures', 'seed-collector.yaml'), 'utf8')
      .replace(/  prometheus:\n    config:[\s\S]*?(?=  filelog:)/, '')
      .replace(/  filelog:[\s\S]*?(?=  hostmetrics:)/, '')
      .replace(/  loki:\n.*\n/, '')
      .replace('receivers: [otlp, prometheus, hostmetrics]', 'receivers: [otlp, hostmetrics]')
      .replace('receivers: [otlp, filelog]', 'receivers: [otlp]')
      .replace('exporters: [loki]', 'exporters: [otlphttp/elasticsearch]');
    const cfg = loadConfig(text, defaultRegistry(), {});
    assert.deepEqual(cfg.pipelines.map((p) => [p.id, p.receivers.length, p.processors.length, p.exporters[0]]), [
      ['traces', 1, 3, 'otlp/tempo'], ['metrics', 2, 3, 'prometheus'], ['logs', 1, 2, 'otlphttp/elasticsearch'],
    ]);
  });
});
