// Node `http` server and clients captured by the ebpf receiver: keep-alive, pipelining, 404/500,
// a 1 MB POST, a chunked response, HEAD and 100 Continue, 100 concurrent clients counted exactly once (spans and
// metrics), a connection opened before the agent started, IPv6, and the Prometheus endpoint.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SpanKind, StatusCode } from '../../src/collector/pdata/model.js';
import { bpfOrSkip, bpfUnavailableReason, toolOrSkip } from '../helpers/env.js';
import {
  appPath, attr, curl, run, startAgent, startChild, startNodeApp, waitFor, waitForOutput, withNodeAppAndAgent, type Agent, type Child, type SeenSpan,
} from './harness.js';

const noBpf = bpfUnavailableReason() !== undefined && process.env.SONDE_REQUIRE_BPF !== '1';
const serverSpans = (spans: SeenSpan[], path: string) => spans.filter((s) => s.kind === SpanKind.SERVER && attr(s, 'url.path') === path);

describe('Node http server captured by the ebpf receiver', { skip: noBpf ? 'no BPF' : false }, () => {
  let agent: Agent;
  let server: Child;
  let port: number;
  let preopened: Child;

  before(async () => {
    ({ child: server, port } = await startNodeApp('http-server', ['127.0.0.1']));
    // A client connection that exists before the agent starts (the agent never saw its open).
    preopened = startChild(process.execPath, [appPath('http-client'), 'preopen', '127.0.0.1', String(port)]);
    await waitForOutput(preopened, /connected/);
    agent = await startAgent([port]);
  });
  after(async () => {
    await agent?.stop();
    await server?.stop();
    await preopened?.stop();
  });

  it('keep-alive: five requests on one connection are five server spans', async (t) => {
    if (!bpfOrSkip(t)) return;
    const r = await run(process.execPath, [appPath('http-client'), 'keepalive', '5', `http://127.0.0.1:${port}/ka`]);
    assert.equal(r.code, 0, r.stderr);
    const spans = await agent.spansWhere('5 server spans of /ka', (s) => serverSpans(s, '/ka').length >= 5);
    const ka = serverSpans(spans, '/ka');
    assert.equal(ka.length, 5);
    assert.equal(new Set(ka.map((s) => attr(s, 'network.peer.port'))).size, 1, 'one connection');
    assert.ok(ka.every((s) => attr(s, 'http.response.status_code') === 200 && s.name === 'GET /ka'));
  });

  it('pipelining: three requests written at once pair with their three responses', async (t) => {
    if (!bpfOrSkip(t)) return;
    const r = await run(process.execPath, [appPath('http-client'), 'pipeline', '127.0.0.1', String(port)]);
    assert.equal(r.code, 0, r.stderr);
    const spans = await agent.spansWhere('3 pipelined server spans', (s) => [1, 2, 3].every((i) => serverSpans(s, `/pipelined/${i}`).length === 1));
    for (const i of [1, 2, 3]) {
      const s = serverSpans(spans, `/pipelined/${i}`)[0]!;
      assert.equal(attr(s, 'user_agent.original'), 'sonde-pipeline');
      assert.equal(attr(s, 'http.response.status_code'), 200);
      assert.equal(s.name, 'GET /pipelined/*');
    }
  });

  it('404 and 500: status codes, ERROR only for 5xx on the server and ≥400 on the client', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    await curl('-o', '/dev/null', `http://127.0.0.1:${port}/status/404`);
    await curl('-o', '/dev/null', `http://127.0.0.1:${port}/status/500`);
    const spans = await agent.spansWhere('404 and 500 spans', (s) => s.filter((x) => /^\/status\/(404|500)$/.test(String(attr(x, 'url.path')))).length >= 4);
    const find = (kind: SpanKind, code: number) => spans.find((s) => s.kind === kind && attr(s, 'http.response.status_code') === code)!;
    assert.equal(find(SpanKind.SERVER, 404).status.code, StatusCode.UNSET);
    assert.equal(find(SpanKind.CLIENT, 404).status.code, StatusCode.ERROR);
    assert.equal(find(SpanKind.CLIENT, 404).attributes['error.type'], '404');
    assert.equal(find(SpanKind.SERVER, 500).status.code, StatusCode.ERROR);
    assert.equal(find(SpanKind.SERVER, 500).attributes['error.type'], '500');
    assert.equal(find(SpanKind.CLIENT, 500).status.code, StatusCode.ERROR);
  });

  it('a 1 MB POST: the body size counts bytes that were never captured', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    const file = join(mkdtempSync(join(tmpdir(), 'sonde-post-')), 'body');
    writeFileSync(file, Buffer.alloc(1 << 20, 'y'));
    const r = await curl('-H', 'Expect:', '--data-binary', `@${file}`, `http://127.0.0.1:${port}/upload`);
    assert.equal(r.stdout, `received ${1 << 20}\n`);
    const spans = await agent.spansWhere('upload span', (s) => serverSpans(s, '/upload').length === 1);
    const s = serverSpans(spans, '/upload')[0]!;
    assert.equal(attr(s, 'http.request.method'), 'POST');
    assert.equal(attr(s, 'http.request.body.size'), 1 << 20);
    assert.equal(attr(s, 'http.response.status_code'), 200);
  });

  it('a chunked response: its body size is the sum of the chunks', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    const r = await curl(`http://127.0.0.1:${port}/chunked`);
    const spans = await agent.spansWhere('chunked span', (s) => serverSpans(s, '/chunked').length === 1);
    const s = serverSpans(spans, '/chunked')[0]!;
    assert.equal(attr(s, 'http.response.body.size'), r.stdout.length);
    // The span ends with the last chunk, 5 × 5 ms after the first.
    assert.ok(s.endTimeUnixNano - s.startTimeUnixNano >= 15_000_000n, `duration ${s.endTimeUnixNano - s.startTimeUnixNano} ns`);
  });

  it('HEAD without a body, then the next request on the same connection; 100 Continue skipped', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    await curl('-o', '/dev/null', '-I', `http://127.0.0.1:${port}/head`, '--next', '-o', '/dev/null', `http://127.0.0.1:${port}/after-head`);
    await curl('-o', '/dev/null', '-H', 'Expect: 100-continue', '--data-binary', 'twelve bytes', `http://127.0.0.1:${port}/continue`);
    const spans = await agent.spansWhere('HEAD, follow-up and 100-continue spans', (s) => ['/head', '/after-head', '/continue'].every((p) => serverSpans(s, p).length === 1));
    const head = serverSpans(spans, '/head')[0]!;
    const after = serverSpans(spans, '/after-head')[0]!;
    assert.equal(attr(head, 'http.request.method'), 'HEAD');
    assert.equal(attr(head, 'http.response.status_code'), 200);
    assert.equal(attr(head, 'http.response.body.size'), 0);
    assert.equal(attr(after, 'http.response.body.size'), 3, 'the HEAD response\'s Content-Length did not swallow the next response');
    assert.equal(attr(after, 'network.peer.port'), attr(head, 'network.peer.port'), 'same connection');
    const cont = serverSpans(spans, '/continue')[0]!;
    assert.equal(attr(cont, 'http.response.status_code'), 200, 'the final status, not the interim 100');
    assert.equal(attr(cont, 'http.request.body.size'), 12);
  });

  it('100 concurrent clients: every request counted exactly once, in spans and metrics', async (t) => {
    if (!bpfOrSkip(t)) return;
    const r = await run(process.execPath, [appPath('http-client'), 'concurrent', '100', `http://127.0.0.1:${port}/burst`]);
    assert.equal(r.code, 0, r.stderr);
    await agent.spansWhere('100 burst server spans', (s) => serverSpans(s, '/burst').length >= 100);
    await new Promise((res) => setTimeout(res, 300)); // late duplicates would show up by now
    const spans = agent.sink.spans();
    assert.equal(serverSpans(spans, '/burst').length, 100);
    assert.equal(spans.filter((s) => s.kind === SpanKind.CLIENT && attr(s, 'url.path') === '/burst').length, 100);
    const point = await waitFor('burst in the duration histogram', () => agent.sink.histogram('http.server.request.duration')
      .find((p) => p.attributes['http.route'] === '/burst' && p.count >= 100));
    assert.equal(point.count, 100);
    assert.equal(point.attributes['http.request.method'], 'GET');
    assert.equal(point.attributes['http.response.status_code'], 200);
    assert.equal(point.attributes['server.port'], port);
  });

  it('a request on a connection opened before the agent started', async (t) => {
    if (!bpfOrSkip(t)) return;
    preopened.proc.kill('SIGUSR2');
    await waitForOutput(preopened, /status 200/);
    const spans = await agent.spansWhere('preopened server span', (s) => serverSpans(s, '/preopened').length === 1);
    const s = serverSpans(spans, '/preopened')[0]!;
    assert.equal(attr(s, 'http.response.status_code'), 200);
    assert.equal(s.resource['process.pid'], server.pid);
  });
});

describe('IPv6: a Node server on ::1', { skip: noBpf ? 'no BPF' : false }, () => {
  it('is captured with IPv6 addresses', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    await withNodeAppAndAgent('http-server', ['::1'], async ({ agent, port }) => {
      await curl('-o', '/dev/null', `http://[::1]:${port}/v6`);
      const spans = await agent.spansWhere('v6 server span', (s) => serverSpans(s, '/v6').length === 1);
      const s = serverSpans(spans, '/v6')[0]!;
      assert.equal(attr(s, 'client.address'), '::1');
      assert.equal(attr(s, 'network.peer.address'), '::1');
      assert.equal(attr(s, 'network.type'), 'ipv6');
      assert.equal(attr(s, 'server.port'), port);
    });
  });
});
