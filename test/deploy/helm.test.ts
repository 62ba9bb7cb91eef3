// deploy/helm/sonde/: the chart's metadata and values, and its templates rendered with Go's
// text/template (Helm's engine, see helm-render/main.go) into manifests that get the same checks as
// deploy/kubernetes/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { toolOrSkip } from '../helpers/env.js';
import { assertValidSondeConfig, checkAgentWorkload, checkSchema, DEPLOY, parseDocs, readDocs, REPO } from './support.js';

const CHART = join(DEPLOY, 'helm', 'sonde');
const chart = () => readDocs(join(CHART, 'Chart.yaml'))[0]!;
const values = () => readDocs(join(CHART, 'values.yaml'))[0]!;
const pkgVersion = () => (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

type Obj = Record<string, unknown>;

/** Renders the chart as `helm template RELEASE -n NAMESPACE` with values.yaml deep-merged with `overrides`. */
function render(overrides: Obj = {}, release = { Name: 'sonde', Namespace: 'sonde' }): Obj[] {
  const merge = (base: unknown, over: unknown): unknown => {
    if (typeof base !== 'object' || base === null || Array.isArray(base) || typeof over !== 'object' || over === null || Array.isArray(over)) return over;
    const out: Obj = { ...(base as Obj) };
    for (const [k, v] of Object.entries(over)) out[k] = k in out ? merge(out[k], v) : v;
    return out;
  };
  const c = chart();
  const request = {
    chartDir: CHART,
    values: merge(values(), overrides),
    chart: { Name: c.name, Version: c.version, AppVersion: c.appVersion },
    release,
  };
  const r = spawnSync('go', ['run', join(REPO, 'test', 'deploy', 'helm-render', 'main.go')], {
    input: JSON.stringify(request), encoding: 'utf8', timeout: 120_000,
    // Standard library only: never reach for a module proxy.
    env: { ...process.env, GOPROXY: 'off', GOCACHE: process.env.GOCACHE ?? join(tmpdir(), 'sonde-go-build-cache') },
  });
  assert.equal(r.status, 0, `rendering the chart failed: ${r.stderr || r.error?.message}`);
  return parseDocs(r.stdout, 'rendered chart');
}

test('Chart.yaml: a v2 application chart whose appVersion is the package version', () => {
  const c = chart();
  assert.equal(c.apiVersion, 'v2');
  assert.equal(c.name, 'sonde');
  assert.match(String(c.version), /^\d+\.\d+\.\d+$/);
  assert.equal(c.appVersion, pkgVersion(), 'the default image tag is the appVersion');
});

test('values.yaml embeds the same Sonde config as deploy/kubernetes/configmap.yaml, and it is valid', () => {
  const cm = readDocs(join(DEPLOY, 'kubernetes', 'configmap.yaml'))[0]!;
  const config = values().config as string;
  assert.equal(config, cm.data['config.yaml']);
  assertValidSondeConfig(config, 'deploy/helm/sonde/values.yaml config', { K8S_NODE_NAME: 'node-1' });
});

test('every .Values path the templates use exists in values.yaml', () => {
  const v = values();
  const dir = join(CHART, 'templates');
  for (const file of readdirSync(dir)) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      let node: unknown = v;
      for (const key of m[1]!.slice(1).split('.')) {
        assert.ok(typeof node === 'object' && node !== null && key in node, `templates/${file} uses .Values${m[1]}, which values.yaml does not define`);
        node = (node as Obj)[key];
      }
    }
  }
});

test('the chart renders (default values) into a working agent', { timeout: 180_000 }, (t) => {
  if (!toolOrSkip(t, 'go', 'apt-get install golang-go')) return;
  const objects = render();
  assert.deepEqual(objects.map((o) => o.kind).sort(), ['ConfigMap', 'DaemonSet', 'Service', 'ServiceAccount']);
  const { daemonSet, configText } = checkAgentWorkload(objects, 'rendered chart');
  assertValidSondeConfig(configText, 'rendered chart config', { K8S_NODE_NAME: 'node-1' });
  const pod = daemonSet.spec.template.spec;
  assert.equal(pod.containers[0].image, `sonde:${pkgVersion()}`);
  assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
  assert.equal(pod.nodeSelector, undefined, 'empty nodeSelector: none rendered');
  assert.match(daemonSet.spec.template.metadata.annotations['checksum/config'], /^[0-9a-f]{64}$/);
});

test('the chart follows its values: image, release, hostPorts, nodeSelector, tolerations, resources, endpoint', { timeout: 180_000 }, (t) => {
  if (!toolOrSkip(t, 'go', 'apt-get install golang-go')) return;
  const objects = render({
    image: { repository: 'registry.example/sonde', tag: '9.9.9', pullPolicy: 'Always' },
    hostPorts: { otlpHttp: null, otlpGrpc: 14317 },
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'obs', effect: 'NoSchedule' }],
    resources: { requests: { cpu: '200m', memory: '300Mi' }, limits: { memory: '1Gi' } },
    otlpEndpoint: 'gw.observability:4317',
  }, { Name: 'agent', Namespace: 'observability' });
  for (const o of objects) {
    checkSchema(o, 'rendered chart (overrides)');
    assert.equal((o.metadata as Obj).namespace, 'observability');
  }
  const ds = objects.find((o) => o.kind === 'DaemonSet') as Record<string, any>;
  const pod = ds.spec.template.spec;
  const c = pod.containers[0];
  assert.equal(ds.metadata.name, 'agent');
  assert.equal(pod.serviceAccountName, 'agent');
  assert.equal(pod.volumes.find((v: Obj) => v.name === 'config').configMap.name, 'agent-config');
  assert.ok(objects.some((o) => o.kind === 'ConfigMap' && (o.metadata as Obj).name === 'agent-config'));
  assert.equal(c.image, 'registry.example/sonde:9.9.9');
  assert.equal(c.imagePullPolicy, 'Always');
  const port = (name: string) => c.ports.find((p: Obj) => p.name === name);
  assert.equal(port('otlp-grpc').hostPort, 14317);
  assert.equal(port('otlp-http').hostPort, undefined, 'null hostPort: not exposed on the node');
  assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'linux' });
  assert.deepEqual(pod.tolerations, [{ key: 'dedicated', operator: 'Equal', value: 'obs', effect: 'NoSchedule' }]);
  assert.deepEqual(c.resources, { requests: { cpu: '200m', memory: '300Mi' }, limits: { memory: '1Gi' } });
  assert.equal(c.env.find((e: Obj) => e.name === 'OTLP_ENDPOINT').value, 'gw.observability:4317');
});
