import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectRuntime, parseCmdline, parseContainerId, parseOtelEnviron, parseResourceAttributes, parseStatStartTime } from '../../src/telemetry/process-info.js';

const nul = (...parts: string[]) => Buffer.from(parts.join('\0') + '\0');
const ID = 'a3b7c9d1e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';

describe('parseOtelEnviron', () => {
  it('keeps only OTEL_* variables, values may contain = and ,', () => {
    const env = parseOtelEnviron(nul('PATH=/usr/bin', 'DB_PASSWORD=hunter2', 'OTEL_SERVICE_NAME=cart', 'OTEL_RESOURCE_ATTRIBUTES=a=b,c=d', 'OTELX=1'));
    assert.deepEqual([...env], [['OTEL_SERVICE_NAME', 'cart'], ['OTEL_RESOURCE_ATTRIBUTES', 'a=b,c=d']]);
  });
  it('handles an empty or unterminated environ', () => {
    assert.equal(parseOtelEnviron(new Uint8Array()).size, 0);
    assert.equal(parseOtelEnviron(Buffer.from('OTEL_SERVICE_NAME=x')).get('OTEL_SERVICE_NAME'), 'x');
  });
});

describe('parseResourceAttributes', () => {
  it('parses and percent-decodes, skipping malformed members', () => {
    const attrs = parseResourceAttributes('service.name=shop,service.namespace=prod%20eu, deployment.environment = staging,broken,=x,bad=%zz');
    assert.deepEqual([...attrs], [['service.name', 'shop'], ['service.namespace', 'prod eu'], ['deployment.environment', 'staging'], ['bad', '%zz']]);
  });
});

describe('detectRuntime', () => {
  const cases: Array<[string[], string, string | undefined, string | undefined, string | undefined]> = [
    // argv, exe name, script, language, runtime
    [['python3', 'app.py'], 'python3.11', 'app', 'python', 'cpython'],
    [['/usr/bin/python3', '-u', '-W', 'ignore', '/srv/api/main.py', '--port', '8000'], 'python3.11', 'main', 'python', 'cpython'],
    [['python3', '-m', 'http.server', '8000'], 'python3.11', 'http.server', 'python', 'cpython'],
    [['python3', '-c', 'print(1)'], 'python3.11', undefined, 'python', 'cpython'],
    [['node', 'server.js'], 'node', 'server', 'nodejs', 'nodejs'],
    [['node', '--enable-source-maps', '-r', 'dotenv/config', 'dist/index.js'], 'node', 'index', 'nodejs', 'nodejs'],
    [['node', '-e', 'require("http")'], 'node', undefined, 'nodejs', 'nodejs'],
    [['java', '-Xmx512m', '-jar', '/opt/shop.jar'], 'java', 'shop', 'java', 'java'],
    [['java', '-cp', 'lib/*', 'com.acme.OrderService'], 'java', 'OrderService', 'java', 'java'],
    [['ruby', 'bin/rails', 'server'], 'ruby', 'rails', 'ruby', 'ruby'],
    [['nginx: master process /usr/sbin/nginx'], 'nginx', undefined, undefined, undefined],
  ];
  for (const [argv, exe, script, language, runtime] of cases) {
    it(`${argv.join(' ')} → ${script ?? '(executable)'}`, () => {
      const info = detectRuntime(argv, exe);
      assert.equal(info.scriptName, script);
      assert.equal(info.language, language);
      assert.equal(info.runtimeName, runtime);
    });
  }
  it('splits /proc cmdline', () => assert.deepEqual(parseCmdline(nul('node', 'a b.js')), ['node', 'a b.js']));
});

describe('parseContainerId', () => {
  const cases: Array<[string, string, string | undefined]> = [
    ['docker cgroup v1', `12:memory:/docker/${ID}\n11:cpu:/docker/${ID}\n`, ID],
    ['docker systemd v2', `0::/system.slice/docker-${ID}.scope\n`, ID],
    ['kubernetes containerd', `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod8f1e2d3c_4b5a_6978_8a9b_0c1d2e3f4a5b.slice/cri-containerd-${ID}.scope\n`, ID],
    ['kubernetes cgroupfs v1', `4:pids:/kubepods/besteffort/pod8f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/${ID}\n`, ID],
    ['cri-o', `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podabc.slice/crio-${ID}.scope\n`, ID],
    ['podman', `0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope/container\n`, ID],
    ['podman conmon is not the container', `0::/machine.slice/libpod-conmon-${ID}.scope\n`, undefined],
    ['host process', '0::/user.slice/user-1000.slice/session-3.scope\n', undefined],
    ['empty', '', undefined],
  ];
  for (const [name, cgroup, want] of cases) it(name, () => assert.equal(parseContainerId(cgroup), want));
});

describe('parseStatStartTime', () => {
  it('reads field 22 even when comm has spaces and parentheses', () => {
    const stat = '1234 (my (weird) app) S 1 1234 1234 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 10000 100 18446744073709551615';
    assert.equal(parseStatStartTime(stat), '987654');
    assert.equal(parseStatStartTime('garbage'), undefined);
  });
});
