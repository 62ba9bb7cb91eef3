// curl → python3 http.server (HTTP/1.0 responses, one connection per request), captured by the
// ebpf receiver: SERVER and CLIENT spans with the right attributes, 404 status, traceparent join.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SpanKind, StatusCode } from '../../src/collector/pdata/model.js';
import { bpfOrSkip, bpfUnavailableReason, toolOrSkip } from '../helpers/env.js';
import { attr, curl, freePort, startAgent, startPythonHttp, waitFor, type Agent, type Child } from './harness.js';

describe('python http.server captured by the ebpf receiver', { skip: bpfUnavailableReason() !== undefined && process.env.SONDE_REQUIRE_BPF !== '1' ? 'no BPF' : false }, () => {
  let agent: Agent;
  let server: Child;
  let port: number;
  let promPort: number;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sonde-py-'));
    writeFileSync(join(dir, 'index.html'), '<h1>hello</h1>\n');
    port = await freePort();
    promPort = await freePort();
    server = await startPythonHttp('127.0.0.1', port, dir);
    agent = await startAgent([port], { exportersYaml: `  prometheus:\n    endpoint: 127.0.0.1:${promPort}`, metricsExporters: ['prometheus'] });
  });
  const serverPid = () => server.pid;
  after(async () => {
    await agent?.stop();
    await server?.stop();
  });

  it('a GET becomes a SERVER span of python and a CLIENT span of curl', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    const { pid: curlPid } = await curl('-o', '/dev/null', '-A', 'sonde-test/1', `http://127.0.0.1:${port}/index.html?secret=1`);
    const spans = await agent.spansWhere('server and client span of GET /index.html', (s) => s.filter((x) => attr(x, 'url.path') === '/index.html').length >= 2);
    const server = spans.find((s) => s.kind === SpanKind.SERVER && attr(s, 'url.path') === '/index.html')!;
    const client = spans.find((s) => s.kind === SpanKind.CLIENT && attr(s, 'url.path') === '/index.html')!;
    assert.ok(server, 'server span');
    assert.ok(client, 'client span');
    assert.equal(server.name, 'GET /index.html');
    assert.equal(attr(server, 'http.request.method'), 'GET');
    assert.equal(attr(server, 'http.response.status_code'), 200);
    assert.equal(attr(server, 'network.protocol.version'), '1.1');
    assert.equal(attr(server, 'server.port'), port);
    assert.equal(attr(server, 'client.address'), '127.0.0.1');
    assert.equal(attr(server, 'user_agent.original'), 'sonde-test/1');
    assert.equal(attr(server, 'http.response.body.size'), 15);
    assert.equal(server.status.code, StatusCode.UNSET);
    assert.equal(server.resource['service.name'], 'http.server');
    assert.equal(server.resource['process.pid'], serverPid());
    assert.ok(!JSON.stringify(attr(server, 'url.path')).includes('secret'), 'no query string');
    assert.equal(client.resource['process.pid'], curlPid);
    assert.equal(client.resource['service.name'], 'curl', 'identified while curl was alive');
    assert.equal(attr(client, 'server.port'), port);
    assert.ok(server.endTimeUnixNano >= server.startTimeUnixNano);
    // Both ends on one host: the server span is the client span's child.
    assert.equal(server.traceId, client.traceId);
    assert.equal(server.parentSpanId, client.spanId);
  });

  it('a traceparent sent by curl: the server span joins that trace as a child of the header\'s span', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = '00f067aa0ba902b7';
    await curl('-o', '/dev/null', '-H', `traceparent: 00-${traceId}-${parent}-01`, '-H', 'tracestate: vendor=abc', `http://127.0.0.1:${port}/index.html?tp`);
    const spans = await agent.spansWhere('spans of the traced request', (s) => s.filter((x) => x.traceId === traceId).length >= 2);
    const server = spans.find((s) => s.traceId === traceId && s.kind === SpanKind.SERVER)!;
    const client = spans.find((s) => s.traceId === traceId && s.kind === SpanKind.CLIENT)!;
    assert.equal(server.parentSpanId, parent);
    assert.notEqual(server.spanId, parent);
    assert.equal(server.traceState, 'vendor=abc');
    // curl's own request carried the header: its CLIENT span *is* that span.
    assert.equal(client.spanId, parent);
  });

  it('404 from a missing file: status 404, server span UNSET, client span ERROR', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    await curl('-o', '/dev/null', `http://127.0.0.1:${port}/missing/42`);
    const spans = await agent.spansWhere('404 spans', (s) => s.filter((x) => attr(x, 'url.path') === '/missing/42').length >= 2);
    const server = spans.find((s) => s.kind === SpanKind.SERVER && attr(s, 'url.path') === '/missing/42')!;
    const client = spans.find((s) => s.kind === SpanKind.CLIENT && attr(s, 'url.path') === '/missing/42')!;
    assert.equal(attr(server, 'http.response.status_code'), 404);
    assert.equal(server.status.code, StatusCode.UNSET);
    assert.equal(client.status.code, StatusCode.ERROR);
    assert.equal(attr(server, 'http.route'), '/missing/*', 'the heuristic route collapses the id');
  });

  it('RED metrics on the Prometheus endpoint with their values', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    for (let i = 0; i < 3; i++) await curl('-o', '/dev/null', `http://127.0.0.1:${port}/index.html?m=${i}`);
    const series = (text: string, name: string, labels: string[]) => text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.every((x) => l.includes(x)));
    const wanted = ['http_route="/index.html"', 'http_request_method="GET"', 'http_response_status_code="200"', `server_port="${port}"`];
    // 1 (first test) + 1 (traceparent test) + 3 requests for /index.html reached the server.
    const text = await waitFor('5 /index.html requests on /metrics', async () => {
      const body = (await curl(`http://127.0.0.1:${promPort}/metrics`)).stdout;
      const line = series(body, 'http_server_request_duration_seconds_count', wanted);
      return line && Number(line.split(' ').at(-1)) === 5 ? body : undefined;
    });
    const bucket = series(text, 'http_server_request_duration_seconds_bucket', [...wanted, 'le="+Inf"'])!;
    assert.equal(Number(bucket.split(' ').at(-1)), 5);
    const sum = Number(series(text, 'http_server_request_duration_seconds_sum', wanted)!.split(' ').at(-1));
    assert.ok(sum > 0 && sum < 5, `sum ${sum}`);
    assert.ok(series(text, 'http_client_request_duration_seconds_count', ['http_request_method="GET"', 'server_address="127.0.0.1"']), 'curl\'s client metrics');
    assert.match(text, /sonde_ebpf_exchanges_total\{receiver="ebpf",protocol="http1"\} [1-9]/);
    assert.match(text, /sonde_ebpf_kernel_events_total\{receiver="ebpf",kind="payload"\} [1-9]/);
  });
});
