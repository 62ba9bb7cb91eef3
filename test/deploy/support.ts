// Shared checks of the deployment files: YAML parsing, the Kubernetes schema (kubernetes-models,
// generated from the Kubernetes OpenAPI spec), the cross-references between the agent's
// DaemonSet, ConfigMap, Service and ServiceAccount, and validation of the embedded Sonde config by
// the real config loader. Used for deploy/kubernetes/ and for the rendered Helm chart alike.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { defaultRegistry } from '../../src/collector/components.js';
import { loadConfig, type ResolvedConfig } from '../../src/collector/config/config.js';
import { BTF_PATH, TRACEFS } from '../../src/ebpf/host.js';
import { packageRoot } from '../../src/util/package-root.js';

// Manifests are free-form YAML: field access is checked by the assertions, not by types.
type Obj = Record<string, any>;

export const REPO = packageRoot();
export const DEPLOY = join(REPO, 'deploy');
/** Root of the compiled tree this test runs from (dist/ or dist-<tag>/): holds src/cli.js. */
export const COMPILED = fileURLToPath(new URL('../..', import.meta.url));

/** Every *.yaml / *.yml under `dir`, except Helm templates (Go templates, not YAML until rendered). */
export function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'templates' && existsSync(join(dir, 'Chart.yaml'))) continue;
      out.push(...yamlFiles(path));
    } else if (/\.ya?ml$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

/** All documents of a multi-document YAML text; a syntax error fails with the file's name. */
export function parseDocs(text: string, label: string): Obj[] {
  const docs = parseAllDocuments(text);
  const out: Obj[] = [];
  for (const doc of docs) {
    assert.deepEqual(doc.errors.map((e) => e.message), [], `${label}: YAML errors`);
    const value = doc.toJS() as Obj | null;
    if (value !== null) out.push(value);
  }
  return out;
}

export const readDocs = (path: string) => parseDocs(readFileSync(path, 'utf8'), relative(REPO, path));

const MODELS: Record<string, new (data: Obj) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/DaemonSet': DaemonSet,
};

/** Validates a Kubernetes object against its OpenAPI schema (types, required fields, enums). */
export function checkSchema(obj: Obj, label: string): void {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const Model = MODELS[key];
  assert.ok(Model, `${label}: no schema for ${key} in this test; add its kubernetes-models class to MODELS`);
  try {
    new Model(obj).validate();
  } catch (err) {
    assert.fail(`${label}: ${key} "${obj.metadata?.name}" does not match the Kubernetes schema: ${(err as Error).message}`);
  }
}

/** The capabilities the capture probes and service identity need (deploy/README.md says why). */
export const REQUIRED_CAPABILITIES = ['BPF', 'PERFMON', 'NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE', 'DAC_READ_SEARCH', 'SYS_RESOURCE'];

/** Host paths Sonde reads, each of which must be a hostPath mounted at the same place. */
export const HOST_MOUNTS = ['/sys/fs/cgroup', TRACEFS, dirname(BTF_PATH)];

const one = (objects: Obj[], kind: string, label: string): Obj => {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `${label}: expected exactly one ${kind}, found ${found.length}`);
  return found[0]!;
};

const subset = (small: Obj, big: Obj) => Object.entries(small).every(([k, v]) => big[k] === v);

/** A Kubernetes memory quantity (512Mi, 1Gi, 1G, bytes) in MiB; NaN when it is not one. */
function mebibytes(quantity: unknown): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(String(quantity));
  if (!m) return NaN;
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return (Number(m[1]) * unit) / 2 ** 20;
}

const portOf = (endpoint: string) => Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));

export interface AgentWorkload {
  daemonSet: Obj;
  configMap: Obj;
  /** The Sonde config the DaemonSet's --config points at, as mounted from the ConfigMap. */
  configText: string;
}

/**
 * Checks that the objects deploy a working agent: the DaemonSet mounts the ConfigMap key its
 * --config names, runs as the ServiceAccount, has the host access and capabilities Sonde needs, and
 * its probes, hostPorts and Service point at the ports the embedded config listens on.
 */
export function checkAgentWorkload(objects: Obj[], label: string): AgentWorkload {
  for (const o of objects) checkSchema(o, label);
  const ds = one(objects, 'DaemonSet', label);
  const cm = one(objects, 'ConfigMap', label);
  const svc = one(objects, 'Service', label);
  const sa = one(objects, 'ServiceAccount', label);
  const pod = ds.spec.template.spec;
  const podLabels = ds.spec.template.metadata.labels as Obj;
  assert.ok(subset(ds.spec.selector.matchLabels, podLabels), `${label}: the DaemonSet's selector does not match its pod labels`);
  assert.ok(subset(svc.spec.selector, podLabels), `${label}: the Service's selector does not match the agent's pod labels`);
  assert.equal(pod.serviceAccountName, sa.metadata.name, `${label}: the pods do not run as the ServiceAccount`);
  for (const o of [ds, cm, svc, sa]) assert.equal(o.metadata.namespace, ds.metadata.namespace, `${label}: ${o.kind} is in another namespace`);
  assert.equal(pod.hostPID, true, `${label}: hostPID is needed to name the processes whose traffic is captured`);
  assert.ok((pod.tolerations as Obj[]).some((t) => t.operator === 'Exists' && t.key === undefined), `${label}: the agent must tolerate every taint`);

  assert.equal(pod.containers.length, 1, `${label}: one container expected`);
  const c = pod.containers[0];
  const args = c.args as string[];
  const configPath = args[args.indexOf('--config') + 1];
  assert.ok(args[0] === 'run' && configPath, `${label}: container args must be run --config FILE, got ${JSON.stringify(args)}`);

  // --config FILE → the mount of its directory → a configMap volume → the ConfigMap key.
  const mount = (c.volumeMounts as Obj[]).find((m) => m.mountPath === dirname(configPath));
  assert.ok(mount, `${label}: nothing is mounted at ${dirname(configPath)}, where --config ${configPath} is read`);
  const volume = (pod.volumes as Obj[]).find((v) => v.name === mount.name);
  assert.ok(volume?.configMap, `${label}: volume "${mount.name}" mounted at ${mount.mountPath} is not a configMap volume`);
  assert.equal(volume.configMap.name, cm.metadata.name, `${label}: the config volume references ConfigMap "${volume.configMap.name}", not "${cm.metadata.name}"`);
  const items = volume.configMap.items as Obj[] | undefined;
  const key = items ? items.find((i) => i.path === basename(configPath))?.key : basename(configPath);
  assert.ok(key, `${label}: the configMap volume has no item with path ${basename(configPath)}`);
  const configText = cm.data?.[key];
  assert.equal(typeof configText, 'string', `${label}: ConfigMap "${cm.metadata.name}" has no key "${key}"`);

  const caps = c.securityContext?.capabilities?.add as string[] | undefined;
  for (const cap of REQUIRED_CAPABILITIES) assert.ok(caps?.includes(cap), `${label}: capability ${cap} is not added`);
  for (const path of HOST_MOUNTS) {
    const m = (c.volumeMounts as Obj[]).find((x) => x.mountPath === path);
    const v = m && (pod.volumes as Obj[]).find((x) => x.name === m.name);
    assert.equal(v?.hostPath?.path, path, `${label}: the host's ${path} must be a hostPath volume mounted at ${path}`);
  }

  // ${env:VAR} without a default must be set on the container.
  const envNames = new Set((c.env as Obj[]).map((e) => e.name));
  for (const m of configText.matchAll(/\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g)) {
    if (m[2] === undefined) assert.ok(envNames.has(m[1]!), `${label}: the config uses \${env:${m[1]}} but the container does not set ${m[1]}`);
  }

  // Ports: the probes and the Service reach the prometheus exporter; hostPorts expose the OTLP receivers.
  const raw = parseDocs(configText, `${label} config`)[0]!;
  const ports = c.ports as Obj[];
  const named = (name: string) => ports.find((p) => p.name === name);
  const promPort = portOf(raw.exporters.prometheus.endpoint);
  for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    const probe = c[kind];
    assert.ok(probe?.httpGet, `${label}: ${kind} missing`);
    assert.equal(probe.httpGet.path, '/metrics', `${label}: ${kind} must GET the prometheus exporter's /metrics`);
    assert.equal(named(probe.httpGet.port)?.containerPort, promPort, `${label}: ${kind} port "${probe.httpGet.port}" is not the prometheus exporter's port ${promPort}`);
  }
  const svcPort = (svc.spec.ports as Obj[])[0]!;
  assert.equal(named(svcPort.targetPort)?.containerPort, promPort, `${label}: the Service's targetPort is not the metrics port`);
  for (const annotated of [svc.metadata.annotations, ds.spec.template.metadata.annotations]) {
    assert.equal(annotated['prometheus.io/port'], String(promPort), `${label}: prometheus.io/port annotation`);
  }
  for (const [proto, name] of [['grpc', 'otlp-grpc'], ['http', 'otlp-http']] as const) {
    const p = named(name);
    assert.equal(p?.containerPort, portOf(raw.receivers.otlp.protocols[proto].endpoint), `${label}: port ${name} is not the otlp ${proto} receiver's port`);
    assert.ok(p.hostPort, `${label}: port ${name} needs a hostPort so apps reach the agent of their node`);
  }

  // Memory: the JS heap cap < memory_limiter's hard limit < the container's limit, so the limiter
  // refuses data before V8 or the kernel's OOM killer ends the agent.
  const limitMiB = mebibytes(c.resources?.limits?.memory);
  assert.ok(limitMiB > 0 && c.resources?.requests?.cpu, `${label}: resource requests and a memory limit are expected`);
  const limiterMiB = raw.processors.memory_limiter.limit_mib as number;
  const heapMiB = Number(/--max-old-space-size=(\d+)/.exec((c.env as Obj[]).find((e) => e.name === 'NODE_OPTIONS')?.value ?? '')?.[1]);
  assert.ok(heapMiB < limiterMiB && limiterMiB < limitMiB, `${label}: expected heap (${heapMiB} MiB) < memory_limiter.limit_mib (${limiterMiB}) < memory limit (${limitMiB} MiB)`);
  return { daemonSet: ds, configMap: cm, configText };
}

/** Loads a Sonde config with the real loader and every built-in component (throws ConfigError). */
export function loadSondeConfig(text: string, env: Record<string, string> = {}): ResolvedConfig {
  return loadConfig(text, defaultRegistry(), env);
}

/** Runs `sonde validate --config` from this compiled tree on `text`; returns its exit code and output. */
export function sondeValidate(text: string, env: Record<string, string> = {}): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-deploy-'));
  try {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, text);
    const r = spawnSync(process.execPath, [join(COMPILED, 'src', 'cli.js'), 'validate', '--config', file], {
      encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000,
    });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Asserts the config is valid both through the loader API and the `sonde validate` command. */
export function assertValidSondeConfig(text: string, label: string, env: Record<string, string> = {}): ResolvedConfig {
  let cfg: ResolvedConfig;
  try {
    cfg = loadSondeConfig(text, env);
  } catch (err) {
    const problems = (err as { problems?: string[] }).problems;
    assert.fail(`${label}: the Sonde config is invalid: ${problems ? problems.join('; ') : (err as Error).message}`);
  }
  const cli = sondeValidate(text, env);
  assert.equal(cli.status, 0, `${label}: sonde validate failed:\n${cli.output}`);
  return cfg;
}
