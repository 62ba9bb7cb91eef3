import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { basicHostAttributes, detectHostAttributes, ServiceIdentityResolver } from '../../src/telemetry/service-identity.js';
import { sondeVersion } from '../../src/telemetry/sonde-version.js';

// Children get a clean environment: no OTEL_* inherited from whoever runs the tests.
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')));
const children: ChildProcess[] = [];
let dir: string;

/** Starts a process that prints "ready" once it runs its own code (after any shim has exec'd), then waits. */
function start(cmd: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  const child = spawn(cmd, args, { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'inherit'], cwd: dir });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} ${args.join(' ')} did not print "ready" within 10 s`)), 10_000);
    child.once('error', reject);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) { clearTimeout(timer); resolve(child.pid!); }
    });
  });
}

const PY_WAIT = 'import sys, time\nprint("ready", flush=True)\ntime.sleep(60)\n';
const NODE_WAIT = 'console.log("ready"); setTimeout(() => {}, 60000);\n';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sonde-identity-'));
  writeFileSync(join(dir, 'app.py'), PY_WAIT);
  writeFileSync(join(dir, 'server.js'), NODE_WAIT);
});
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('ServiceIdentityResolver on real processes', () => {
  const resolver = new ServiceIdentityResolver();

  it('python3 -c with OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; other variables never leak', async () => {
    const pid = await start('python3', ['-c', PY_WAIT], {
      OTEL_SERVICE_NAME: 'pay-api',
      OTEL_RESOURCE_ATTRIBUTES: 'service.name=ignored,service.namespace=shop,deployment.environment=test',
      DB_PASSWORD: 'hunter2-secret',
    });
    const id = resolver.identify(pid);
    const a = id.resource.attributes;
    assert.equal(id.serviceName, 'pay-api');
    assert.equal(a['service.name'], 'pay-api', 'OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES');
    assert.equal(a['service.namespace'], 'shop');
    assert.equal(a['deployment.environment'], 'test');
    assert.equal(a['process.pid'], pid);
    assert.equal(a['process.runtime.name'], 'cpython');
    assert.equal(a['telemetry.sdk.language'], 'python');
    assert.equal(a['telemetry.sdk.name'], 'sonde');
    assert.equal(a['telemetry.sdk.version'], sondeVersion());
    assert.match(String(a['process.executable.name']), /^python/);
    assert.equal(a['service.instance.id'], `${hostname()}:${pid}`);
    assert.equal(a['os.type'], 'linux');
    const text = JSON.stringify(a);
    assert.ok(!text.includes('hunter2'), 'no non-OTEL environment values');
    assert.ok(!text.includes('time.sleep'), 'no command line');
  });

  it('service.name from OTEL_RESOURCE_ATTRIBUTES alone', async () => {
    const pid = await start('python3', ['-c', PY_WAIT], { OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs' });
    assert.equal(resolver.identify(pid).serviceName, 'from-attrs');
  });

  it('python3 app.py → app', async () => {
    const pid = await start('python3', ['app.py']);
    assert.equal(resolver.identify(pid).serviceName, 'app');
  });

  it('node server.js → server, runtime nodejs', async () => {
    const pid = await start(process.execPath, ['--no-warnings', 'server.js']);
    const id = resolver.identify(pid);
    assert.equal(id.serviceName, 'server');
    assert.equal(id.resource.attributes['process.runtime.name'], 'nodejs');
    assert.equal(id.resource.attributes['telemetry.sdk.language'], 'nodejs');
    assert.equal(id.resource.attributes['process.executable.path'], readlinkExe(pid));
  });

  it('a plain executable is named after its binary', async () => {
    const pid = await start('sh', ['-c', 'echo ready; exec sleep 60']);
    // sh execs sleep right after printing: wait until the exe is sleep's.
    const deadline = Date.now() + 5000;
    while (!readlinkExe(pid).endsWith('/sleep') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const id = new ServiceIdentityResolver().identify(pid);
    assert.equal(id.serviceName, 'sleep');
    assert.equal(id.resource.attributes['process.runtime.name'], undefined);
    assert.equal(id.resource.attributes['telemetry.sdk.language'], undefined);
  });

  it('caches per pid + start time, and keeps the identity of a process that exited', async () => {
    const pid = await start('python3', ['app.py']);
    const r = new ServiceIdentityResolver({ revalidateAfterMs: 0 });
    const first = r.identify(pid);
    assert.match(first.key, new RegExp(`^${pid}:\\d+$`));
    assert.equal(r.identify(pid), first, 'same process, same (cached) identity');
    assert.equal(r.stats.resolved, 1);
    const child = children.find((c) => c.pid === pid)!;
    const exited = new Promise((res) => child.once('exit', res));
    child.kill('SIGKILL');
    await exited;
    assert.equal(r.identify(pid).serviceName, 'app');
  });

  it('names an unknown pid without crashing, and counts the failed reads', () => {
    const r = new ServiceIdentityResolver();
    const id = r.identify(2 ** 22 + 12345); // above pid_max on typical hosts
    assert.match(id.serviceName, /^unknown_service:/);
    assert.ok(r.stats.procReadErrors > 0);
  });
});

function readlinkExe(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return ''; // not started yet or already gone
  }
}

describe('host attributes', () => {
  it('basic: host.name, host.id from /etc/machine-id, os.type', () => {
    const a = basicHostAttributes();
    assert.equal(a['host.name'], hostname());
    assert.equal(a['host.id'], readFileSync('/etc/machine-id', 'utf8').trim());
    assert.equal(a['os.type'], 'linux');
  });
  it('systeminformation adds the distribution', async () => {
    const a = await detectHostAttributes();
    const osRelease = readFileSync('/etc/os-release', 'utf8');
    const name = /^NAME="?([^"\n]+)"?$/m.exec(osRelease)?.[1];
    assert.ok(name && String(a['os.description']).includes(name), `os.description ${a['os.description']} names ${name}`);
  });
});
