// The Dockerfile and the docker-compose demo, without a Docker engine: every COPY source exists in
// the build context, the runtime stage's files (laid out as the image would hold them) are enough
// to run the agent and receive OTLP, and the demo's config and client work.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { Metrics } from '../../src/collector/pdata/model.js';
import { encodeRequest } from '../../src/collector/pdata/otlp.js';
import { freePort } from '../collector/helpers.js';
import { toolOrSkip } from '../helpers/env.js';
import { assertValidSondeConfig, COMPILED, DEPLOY, readDocs, REPO } from './support.js';

interface Instruction { op: string; args: string[]; from?: string }
interface Stage { name?: string; instructions: Instruction[] }

/** Dockerfile → stages of instructions (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/);
    const upper = op!.toUpperCase();
    if (upper === 'FROM') {
      const as = rest.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({ name: as >= 0 ? rest[as + 1] : undefined, instructions: [] });
      continue;
    }
    assert.ok(stages.length > 0, `Dockerfile: ${upper} before FROM`);
    const from = rest.find((w) => w.startsWith('--from='))?.slice('--from='.length);
    stages.at(-1)!.instructions.push({ op: upper, args: rest.filter((w) => !w.startsWith('--')), from });
  }
  return stages;
}

const dockerfile = () => parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
const dockerignore = () => readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
/** A Dockerfile / .dockerignore pattern for one path segment (`*` matches within it) as a RegExp. */
const segmentGlob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);

/** Files a COPY source names in the build context; `*` may appear in the last path segment. */
function contextFiles(source: string): string[] {
  if (!source.includes('*')) return existsSync(join(REPO, source)) ? [source] : [];
  const dir = dirname(source);
  const name = segmentGlob(source.slice(dir.length + 1));
  return existsSync(join(REPO, dir)) ? readdirSync(join(REPO, dir)).filter((f) => name.test(f)).map((f) => `${dir}/${f}`) : [];
}

test('Dockerfile: every COPY from the build context names files that exist and are not .dockerignored', () => {
  const ignore = dockerignore();
  let copies = 0;
  for (const stage of dockerfile()) {
    for (const ins of stage.instructions.filter((i) => i.op === 'COPY' && !i.from)) {
      for (const source of ins.args.slice(0, -1)) {
        copies++;
        assert.ok(contextFiles(source).length > 0, `Dockerfile: COPY ${source}: no such path in the repository`);
        const top = source.split('/')[0]!;
        assert.ok(!ignore.some((p) => segmentGlob(p).test(top)), `Dockerfile: COPY ${source} is excluded by .dockerignore`);
      }
    }
  }
  assert.ok(copies >= 5, 'the Dockerfile copies the sources');
});

/**
 * Lays out the runtime stage's files as the image would hold them. The build stage's products come
 * from this checkout: dist/ is the compiled tree these tests run from (its native library from the
 * same tree or the checkout's dist/), node_modules is linked, everything else is copied.
 */
function layOutRuntimeStage(root: string): void {
  const stages = dockerfile();
  const runtime = stages.at(-1)!;
  const buildStage = stages.find((s) => s.name !== undefined)!;
  const workdir = runtime.instructions.find((i) => i.op === 'WORKDIR')!.args[0]!;
  const buildWorkdir = buildStage.instructions.find((i) => i.op === 'WORKDIR')!.args[0]!;
  const builtPath = (path: string): string => {
    const rel = path.slice(buildWorkdir.length + 1);
    if (rel === 'node_modules') return join(REPO, 'node_modules');
    if (rel.startsWith('dist/')) {
      const compiled = join(COMPILED, rel.slice('dist/'.length));
      return existsSync(compiled) ? compiled : join(REPO, rel);
    }
    return join(REPO, rel);
  };
  for (const ins of runtime.instructions.filter((i) => i.op === 'COPY')) {
    const dest = ins.args.at(-1)!;
    const target = resolve(root, dest.startsWith('/') ? `.${dest.slice(workdir.length)}` : dest);
    for (const source of ins.args.slice(0, -1)) {
      const sources = ins.from ? [builtPath(source)] : contextFiles(source).map((f) => join(REPO, f));
      assert.ok(sources.length > 0 && sources.every(existsSync), `runtime stage: COPY ${source} has nothing to copy (run node scripts/build.mjs for dist/native)`);
      for (const s of sources) {
        const into = dest.endsWith('/') ? join(target, basename(s)) : target;
        mkdirSync(dirname(into), { recursive: true });
        if (s.endsWith('node_modules')) symlinkSync(s, into);
        else cpSync(s, into, { recursive: true });
      }
    }
  }
  const entrypoint = JSON.parse(runtime.instructions.find((i) => i.op === 'ENTRYPOINT')!.args.join(' ')) as string[];
  assert.ok(existsSync(join(root, entrypoint[1]!.slice(workdir.length))), `ENTRYPOINT ${entrypoint[1]} is not in the image`);
}

test('Dockerfile: the runtime stage holds what `sonde run` needs: it starts, takes OTLP/HTTP and serves /metrics', { timeout: 60_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'sonde-image-'));
  let child: ReturnType<typeof spawn> | undefined;
  try {
    layOutRuntimeStage(root);
    for (const needed of ['package.json', 'bpf/capture.bpf.o', 'dist/native/libsonde_ringbuf.so', 'src/collector/pdata/proto/opentelemetry/proto/collector/metrics/v1/metrics_service.proto']) {
      assert.ok(existsSync(join(root, needed)), `the image lacks ${needed}`);
    }
    assert.ok(!existsSync(join(root, 'dist', 'test')), 'tests stay out of the image');

    const [otlpPort, promPort] = [await freePort(), await freePort()];
    const config = join(root, 'config.yaml');
    writeFileSync(config, `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${otlpPort}
exporters:
  prometheus:
    endpoint: 127.0.0.1:${promPort}
service:
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [prometheus]
`);
    child = spawn(process.execPath, [join(root, 'bin', 'sonde.js'), 'run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => { output += d; });
    child.stderr!.on('data', (d) => { output += d; });
    const exited = new Promise<number | null>((res) => child!.once('exit', (code) => res(code)));

    const now = BigInt(Date.now()) * 1_000_000n;
    const metrics: Metrics = { resourceMetrics: [{
      resource: { attributes: { 'service.name': 'image-check' }, droppedAttributesCount: 0 }, schemaUrl: '',
      scopeMetrics: [{ scope: { name: 'deploy-test', version: '', attributes: {}, droppedAttributesCount: 0 }, schemaUrl: '', metrics: [{
        name: 'deploy.check', description: '', unit: '', metadata: {},
        data: { type: 'gauge', dataPoints: [{ attributes: {}, startTimeUnixNano: now, timeUnixNano: now, flags: 0, value: 42, valueType: 'double', exemplars: [] }] },
      }] }],
    }] };
    let accepted = false;
    for (let i = 0; i < 100 && !accepted && child.exitCode === null; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${otlpPort}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: encodeRequest('metrics', metrics, 'proto') });
        assert.equal(res.status, 200, `OTLP/HTTP protobuf refused: ${await res.text()}`);
        accepted = true;
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        await new Promise((r) => setTimeout(r, 100)); // not listening yet
      }
    }
    assert.ok(accepted, `the agent from the image layout never accepted OTLP:\n${output}`);
    const scrape = await (await fetch(`http://127.0.0.1:${promPort}/metrics`)).text();
    assert.match(scrape, /^deploy_check(\{[^}]*\})? 42$/m);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, `sonde run did not stop cleanly on SIGTERM:\n${output}`);
  } finally {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
});

const COMPOSE = join(DEPLOY, 'docker-compose');
const run = promisify(execFile);

test('docker-compose demo: privileged agent in the host PID and cgroup namespaces, valid config, loopback-only metrics', () => {
  const compose = readDocs(join(COMPOSE, 'compose.yaml'))[0]!;
  const sonde = compose.services.sonde;
  assert.equal(resolve(COMPOSE, sonde.build.context), REPO, 'the image is built from the repository root');
  assert.ok(existsSync(join(REPO, 'Dockerfile')));
  assert.equal(sonde.privileged, true);
  assert.equal(sonde.pid, 'host');
  assert.equal(sonde.cgroup, 'host', 'the probes attach to the cgroup root, which must be the host\'s');
  const configPath = sonde.command[sonde.command.indexOf('--config') + 1];
  const mounts = (sonde.volumes as string[]).map((v) => v.split(':'));
  const configMount = mounts.find(([, target]) => target === configPath);
  assert.ok(configMount, `nothing is mounted at ${configPath}`);
  const text = readFileSync(join(COMPOSE, configMount[0]!), 'utf8');
  assertValidSondeConfig(text, 'deploy/docker-compose/sonde.yaml');
  const promPort = (readDocs(join(COMPOSE, configMount[0]!))[0]!.exporters.prometheus.endpoint as string).split(':').at(-1);
  assert.deepEqual(sonde.ports, [`127.0.0.1:${promPort}:${promPort}`], 'metrics published on the host\'s loopback only');
  for (const [source] of mounts.concat(...(compose.services.client.volumes as string[]).map((v) => [v.split(':')]))) {
    if (source!.startsWith('.')) assert.ok(existsSync(join(COMPOSE, source!)), `compose mounts ${source}, which does not exist`);
  }
  assert.match(compose.services.server.command.join(' '), /http\.server 8000/);
  assert.equal(compose.services.client.environment.TARGET_URL, 'http://server:8000/');
});

test('docker-compose demo: the client loop really calls a python http.server', { timeout: 30_000 }, async (t) => {
  if (!toolOrSkip(t, 'python3')) return;
  const port = await freePort();
  const server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], { cwd: COMPOSE, stdio: ['ignore', 'ignore', 'pipe'] });
  let serverLog = '';
  server.stderr!.on('data', (d) => { serverLog += d; });
  try {
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = await fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false);
      if (!up) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(up, 'python3 -m http.server did not start');
    const client = await run(process.execPath, [join(COMPOSE, 'client.mjs')], {
      encoding: 'utf8', timeout: 20_000,
      env: { ...process.env, TARGET_URL: `http://127.0.0.1:${port}/`, REQUESTS: '3', INTERVAL_MS: '20' },
    });
    assert.deepEqual(client.stdout.trim().split('\n').map((l) => l.replace(/ GET .* -> /, ' -> ')), ['1/3 -> 200', '2/3 -> 200', '3/3 -> 200']);
    // One GET from the start-up check above, three from the client.
    const gets = () => (serverLog.match(/"GET \/ HTTP\/1\.1" 200/g) ?? []).length;
    for (let i = 0; i < 50 && gets() < 4; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(gets(), 4, `the server logged:\n${serverLog}`);
  } finally {
    server.kill('SIGTERM');
  }
});
