// nginx (run as root with its own config in a temp dir) serving a static file with sendfile and
// proxying to a Node upstream, curl as the client: server and client spans on both hops, one trace.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SpanKind } from '../../src/collector/pdata/model.js';
import { bpfOrSkip, bpfUnavailableReason, toolOrSkip } from '../helpers/env.js';
import { attr, curl, freePort, startAgent, startChild, startNodeApp, waitFor, type Agent, type Child, type SeenSpan } from './harness.js';

const NGINX = '/usr/sbin/nginx';
const skip = bpfUnavailableReason() !== undefined && process.env.SONDE_REQUIRE_BPF !== '1' ? 'no BPF' : false;

function nginxConfig(dir: string, port: number, upstream: number): string {
  return `daemon off;
user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path ${dir}/tmp-body;
  proxy_temp_path ${dir}/tmp-proxy;
  fastcgi_temp_path ${dir}/tmp-fastcgi;
  uwsgi_temp_path ${dir}/tmp-uwsgi;
  scgi_temp_path ${dir}/tmp-scgi;
  server {
    listen 127.0.0.1:${port};
    root ${dir}/www;
    location /api/ {
      proxy_pass http://127.0.0.1:${upstream};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

describe('nginx: static file and reverse proxy', { skip }, () => {
  let agent: Agent;
  let nginx: Child;
  let upstream: Child;
  let port: number;
  let upstreamPort: number;
  const bytes = 200_000;

  before(async () => {
    if (bpfUnavailableReason() || !existsSync(NGINX)) return; // the tests skip (or fail when required) themselves
    const dir = mkdtempSync(join(tmpdir(), 'sonde-nginx-'));
    mkdirSync(join(dir, 'www'));
    writeFileSync(join(dir, 'www', 'big.bin'), Buffer.alloc(bytes, 'z'));
    ({ child: upstream, port: upstreamPort } = await startNodeApp('http-server', ['127.0.0.1']));
    port = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, upstreamPort));
    nginx = startChild(NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'error.log')]);
    await waitFor('nginx to answer', async () => (await curl('-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/big.bin`).catch(() => ({ stdout: '' }))).stdout === '200');
    agent = await startAgent([port, upstreamPort]);
  });
  after(async () => {
    await agent?.stop();
    await nginx?.stop();
    await upstream?.stop();
  });

  it('a static file sent with sendfile: server span with the full body size', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, NGINX)) return;
    const r = await curl('-o', '/dev/null', '-w', '%{size_download}', `http://127.0.0.1:${port}/big.bin`);
    assert.equal(Number(r.stdout), bytes);
    const spans = await agent.spansWhere('nginx server span', (s) => s.some((x) => x.kind === SpanKind.SERVER && attr(x, 'url.path') === '/big.bin'));
    const server = spans.find((x) => x.kind === SpanKind.SERVER && attr(x, 'url.path') === '/big.bin')!;
    const client = await waitFor('curl client span', () => agent.sink.spans().find((x) => x.kind === SpanKind.CLIENT && attr(x, 'url.path') === '/big.bin'));
    assert.equal(server.resource['service.name'], 'nginx');
    assert.equal(attr(server, 'http.response.status_code'), 200);
    assert.equal(attr(server, 'http.response.body.size'), bytes);
    assert.equal(attr(client, 'http.response.body.size'), bytes);
    assert.equal(server.parentSpanId, client.spanId);
  });

  it('proxying: curl → nginx → node, four spans in one trace', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, NGINX)) return;
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const curlSpan = 'b7ad6b7169203331';
    const r = await curl('-H', `traceparent: 00-${traceId}-${curlSpan}-01`, `http://127.0.0.1:${port}/api/orders/1234`);
    assert.equal(r.stdout, 'ok\n');
    const spans = await agent.spansWhere('4 spans of the proxied request', (s) => s.filter((x) => attr(x, 'url.path') === '/api/orders/1234').length >= 4);
    const hop = spans.filter((x) => attr(x, 'url.path') === '/api/orders/1234');
    const pick = (kind: SpanKind, service: (s: SeenSpan) => boolean) => hop.find((x) => x.kind === kind && service(x));
    const isNginx = (s: SeenSpan) => s.resource['service.name'] === 'nginx';
    const curlClient = pick(SpanKind.CLIENT, (s) => !isNginx(s))!;
    const nginxServer = pick(SpanKind.SERVER, isNginx)!;
    const nginxClient = pick(SpanKind.CLIENT, isNginx)!;
    const nodeServer = pick(SpanKind.SERVER, (s) => !isNginx(s))!;
    for (const [name, s] of Object.entries({ curlClient, nginxServer, nginxClient, nodeServer })) {
      assert.ok(s, `${name} span`);
      assert.equal(s.traceId, traceId, `${name} in the caller's trace`);
      assert.equal(attr(s, 'http.response.status_code'), 200);
      assert.equal(s.name, 'GET /api/orders/*');
    }
    assert.equal(curlClient.spanId, curlSpan);
    assert.equal(nginxServer.parentSpanId, curlSpan);
    assert.equal(nginxClient.parentSpanId, nginxServer.spanId);
    assert.equal(nodeServer.parentSpanId, nginxClient.spanId);
    assert.equal(attr(nginxClient, 'server.port'), upstreamPort);
    assert.equal(nodeServer.resource['process.pid'], upstream.pid);
  });
});
