// deploy/kubernetes/: every YAML file parses, the objects match the Kubernetes schema and reference
// each other correctly, and the ConfigMap's Sonde config passes the real validator and runs.
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { Service as SondeService } from '../../src/collector/service/service.js';
import { freePort } from '../collector/helpers.js';
import { bpfOrSkip } from '../helpers/env.js';
import { assertValidSondeConfig, checkAgentWorkload, DEPLOY, readDocs, yamlFiles } from './support.js';

const K8S = join(DEPLOY, 'kubernetes');
const kustomization = () => readDocs(join(K8S, 'kustomization.yaml'))[0]!;
const manifests = () => (kustomization().resources as string[]).flatMap((f) => readDocs(join(K8S, f)));
const NODE_ENV = { K8S_NODE_NAME: 'node-1' };

test('every YAML file under deploy/ parses (all documents)', () => {
  const files = yamlFiles(DEPLOY);
  for (const expected of ['kubernetes/daemonset.yaml', 'kubernetes/configmap.yaml', 'helm/sonde/values.yaml', 'docker-compose/compose.yaml']) {
    assert.ok(files.includes(join(DEPLOY, expected)), `deploy/${expected} is missing`);
  }
  for (const f of files) assert.ok(readDocs(f).length > 0, `${f} holds no document`);
});

test('kustomization.yaml lists every manifest in deploy/kubernetes/', () => {
  const listed = [...(kustomization().resources as string[])].sort();
  const present = yamlFiles(K8S).map((f) => basename(f)).filter((f) => f !== 'kustomization.yaml').sort();
  assert.deepEqual(listed, present);
});

test('the manifests match the Kubernetes schema and deploy a working agent', () => {
  const objects = manifests();
  const ns = objects.find((o) => o.kind === 'Namespace');
  assert.ok(ns, 'a Namespace is expected');
  assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'privileged', 'the agent needs the privileged Pod Security level');
  const { daemonSet } = checkAgentWorkload(objects.filter((o) => o !== ns), 'deploy/kubernetes');
  assert.equal(daemonSet.metadata.namespace, ns.metadata.name);
  assert.equal(daemonSet.spec.template.spec.automountServiceAccountToken, false, 'no API access is used, so no token is mounted');
  assert.ok(!objects.some((o) => /Role/.test(o.kind)), 'no RBAC: nothing reads the Kubernetes API');
});

test('the ConfigMap holds a valid Sonde config: eBPF + OTLP in, service map, Prometheus and OTLP out', () => {
  const { configText } = checkAgentWorkload(manifests().filter((o) => o.kind !== 'Namespace'), 'deploy/kubernetes');
  const cfg = assertValidSondeConfig(configText, 'deploy/kubernetes/configmap.yaml', NODE_ENV);
  const pipeline = (id: string) => cfg.pipelines.find((p) => p.id === id)!;
  assert.deepEqual(cfg.pipelines.map((p) => p.id).sort(), ['logs', 'metrics', 'traces']);
  assert.deepEqual(pipeline('traces').receivers, ['ebpf', 'otlp']);
  assert.ok(pipeline('traces').exporters.includes('spanmetrics') && pipeline('traces').exporters.includes('servicegraph'));
  assert.ok(['ebpf', 'spanmetrics', 'servicegraph'].every((r) => pipeline('metrics').receivers.includes(r)));
  assert.ok(pipeline('metrics').exporters.includes('prometheus'));
  assert.equal(cfg.exporters.get('otlp')!.config.endpoint, 'otel-gateway:4317', 'OTLP_ENDPOINT unset: the default gateway');
  const custom = assertValidSondeConfig(configText, 'configmap with OTLP_ENDPOINT', { ...NODE_ENV, OTLP_ENDPOINT: 'gw.observability:4317' });
  assert.equal(custom.exporters.get('otlp')!.config.endpoint, 'gw.observability:4317');
});

test('the same validation rejects a broken ConfigMap config', () => {
  const { configText } = checkAgentWorkload(manifests().filter((o) => o.kind !== 'Namespace'), 'deploy/kubernetes');
  const broken = configText.replace('capture_bytes: 512', 'capture_bytes: 4096');
  assert.notEqual(broken, configText);
  assert.throws(() => assertValidSondeConfig(broken, 'broken', NODE_ENV), /capture_bytes/);
});

test('the ConfigMap config runs: probes load and /metrics answers as the kubelet probes ask', { timeout: 60_000 }, async (t) => {
  if (!bpfOrSkip(t)) return;
  const { configText } = checkAgentWorkload(manifests().filter((o) => o.kind !== 'Namespace'), 'deploy/kubernetes');
  // Same config on loopback and free ports (tests never listen on 0.0.0.0 or fixed ports).
  const ports = { 4317: await freePort(), 4318: await freePort(), 9464: await freePort() };
  let text = configText;
  for (const [from, to] of Object.entries(ports)) text = text.replace(`0.0.0.0:${from}`, `127.0.0.1:${to}`);
  assert.ok(!text.includes('0.0.0.0'), 'every listener was moved to the loopback');
  const sink = await freePort(); // nothing listens: the otlp exporter only queues
  const svc = await SondeService.fromYaml(text, {
    logger: pino({ level: process.env.SONDE_TEST_LOG ?? 'silent' }), selfMetrics: new Registry(),
    env: { ...NODE_ENV, OTLP_ENDPOINT: `127.0.0.1:${sink}` },
  });
  await svc.start();
  try {
    const res = await fetch(`http://127.0.0.1:${ports[9464]}/metrics`);
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.match(body, /^sonde_ebpf_capture_enabled(\{[^}]*\})? 1$/m, 'the eBPF probes are loaded');
  } finally {
    await svc.shutdown();
  }
});
