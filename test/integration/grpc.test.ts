// HTTP/2 and gRPC captured by the ebpf receiver: @grpc/grpc-js server and client (unary OK, error
// statuses, server streaming, deadline exceeded, 50 concurrent calls on one connection, a
// traceparent in metadata), Python grpcio (Debian's C-core stack) as server and as client, a
// Node http2 server queried by curl --http2-prior-knowledge, h2c via Upgrade, and a gRPC channel
// opened before the agent started.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SpanKind, StatusCode } from '../../src/collector/pdata/model.js';
import { bpfOrSkip, bpfUnavailableReason, toolOrSkip } from '../helpers/env.js';
import {
  appPath, attr, curl, run, startAgent, startChild, startNodeApp, waitFor, waitForOutput, withNodeAppAndAgent, type Agent, type Child, type SeenSpan,
} from './harness.js';

const skip = bpfUnavailableReason() !== undefined && process.env.SONDE_REQUIRE_BPF !== '1' ? 'no BPF' : false;
const PYTHON = '/usr/bin/python3';

const PY_SERVER = `
import grpc, sys
from concurrent import futures
def echo(req, ctx): return req
def fail(req, ctx): ctx.abort(grpc.StatusCode.NOT_FOUND, 'no such order')
handler = grpc.method_handlers_generic_handler('sonde.test.Echo', {
    'Echo': grpc.unary_unary_rpc_method_handler(echo),
    'Fail': grpc.unary_unary_rpc_method_handler(fail),
})
server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
server.add_generic_rpc_handlers((handler,))
port = server.add_insecure_port('127.0.0.1:0')
server.start()
print('listening', port, flush=True)
server.wait_for_termination()
`;

const PY_CLIENT = `
import grpc, sys
port, traceparent = sys.argv[1], sys.argv[2]
with grpc.insecure_channel('127.0.0.1:' + port) as ch:
    echo = ch.unary_unary('/sonde.test.Echo/Echo')
    assert echo(b'hello', timeout=5, metadata=(('traceparent', traceparent),)) == b'hello'
    try:
        ch.unary_unary('/sonde.test.Echo/Fail')(b'x', timeout=5)
    except grpc.RpcError as e:
        print('status', e.code().value[0])
print('done', flush=True)
`;

const rpcSpans = (spans: SeenSpan[], method: string, kind: SpanKind) => spans.filter((s) => s.kind === kind && attr(s, 'rpc.method') === method);

describe('grpc-js server and client', { skip }, () => {
  let agent: Agent;
  let server: Child;
  let port: number;
  const client = async (mode: string, traceparent?: string) => {
    const r = await run(process.execPath, [appPath('grpc-js-client'), String(port), mode, ...(traceparent ? [traceparent] : [])]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };

  before(async () => {
    if (bpfUnavailableReason()) return;
    ({ child: server, port } = await startNodeApp('grpc-js-server', []));
    agent = await startAgent([port]);
  });
  after(async () => {
    await agent?.stop();
    await server?.stop();
  });

  it('unary OK: SERVER and CLIENT spans named after the method, status 0, in one trace', async (t) => {
    if (!bpfOrSkip(t)) return;
    assert.equal(await client('unary'), 'done 0');
    const spans = await agent.spansWhere('Echo spans', (s) => rpcSpans(s, 'Echo', SpanKind.SERVER).length >= 1 && rpcSpans(s, 'Echo', SpanKind.CLIENT).length >= 1);
    const server = rpcSpans(spans, 'Echo', SpanKind.SERVER)[0]!;
    const client_ = rpcSpans(spans, 'Echo', SpanKind.CLIENT)[0]!;
    assert.equal(server.name, 'sonde.test.Echo/Echo');
    assert.equal(attr(server, 'rpc.system'), 'grpc');
    assert.equal(attr(server, 'rpc.service'), 'sonde.test.Echo');
    assert.equal(attr(server, 'rpc.grpc.status_code'), 0);
    assert.equal(attr(server, 'server.port'), port);
    assert.equal(attr(server, 'network.protocol.version'), '2');
    assert.equal(server.status.code, StatusCode.UNSET);
    assert.equal(client_.name, 'sonde.test.Echo/Echo');
    assert.equal(attr(client_, 'rpc.grpc.status_code'), 0);
    assert.equal(server.traceId, client_.traceId);
    assert.equal(server.parentSpanId, client_.spanId);
  });

  it('error statuses: NOT_FOUND is an error for the client only, INTERNAL for both', async (t) => {
    if (!bpfOrSkip(t)) return;
    assert.equal(await client('fail'), 'done 5');
    assert.equal(await client('boom'), 'done 13');
    const spans = await agent.spansWhere('Fail and Boom spans', (s) => ['Fail', 'Boom'].every((m) => rpcSpans(s, m, SpanKind.SERVER).length && rpcSpans(s, m, SpanKind.CLIENT).length));
    const [failServer, failClient] = [rpcSpans(spans, 'Fail', SpanKind.SERVER)[0]!, rpcSpans(spans, 'Fail', SpanKind.CLIENT)[0]!];
    assert.equal(attr(failServer, 'rpc.grpc.status_code'), 5);
    assert.equal(failServer.status.code, StatusCode.UNSET);
    assert.equal(failClient.status.code, StatusCode.ERROR);
    const boomServer = rpcSpans(spans, 'Boom', SpanKind.SERVER)[0]!;
    assert.equal(attr(boomServer, 'rpc.grpc.status_code'), 13);
    assert.equal(boomServer.status.code, StatusCode.ERROR);
    assert.equal(attr(boomServer, 'error.type'), 'INTERNAL');
  });

  it('server streaming: one span per call with the message counts', async (t) => {
    if (!bpfOrSkip(t)) return;
    assert.equal(await client('stream'), 'done 0');
    const spans = await agent.spansWhere('Stream spans', (s) => rpcSpans(s, 'Stream', SpanKind.SERVER).length === 1);
    const s = rpcSpans(spans, 'Stream', SpanKind.SERVER)[0]!;
    assert.equal(attr(s, 'rpc.grpc.status_code'), 0);
    assert.equal(attr(s, 'rpc.message.received_count'), 1);
    assert.equal(attr(s, 'rpc.message.sent_count'), 3);
  });

  it('deadline exceeded: the client span is an error', async (t) => {
    if (!bpfOrSkip(t)) return;
    assert.equal(await client('deadline'), 'done 4');
    const spans = await agent.spansWhere('Slow client span', (s) => rpcSpans(s, 'Slow', SpanKind.CLIENT).length === 1);
    const c = rpcSpans(spans, 'Slow', SpanKind.CLIENT)[0]!;
    assert.equal(c.status.code, StatusCode.ERROR);
  });

  it('50 concurrent calls on one connection: 50 server spans, counted in rpc.server.duration', async (t) => {
    if (!bpfOrSkip(t)) return;
    const before = rpcSpans(agent.sink.spans(), 'Echo', SpanKind.SERVER).length;
    assert.equal(await client('concurrent'), 'done 0');
    await agent.spansWhere('50 more Echo server spans', (s) => rpcSpans(s, 'Echo', SpanKind.SERVER).length >= before + 50);
    await new Promise((r) => setTimeout(r, 300));
    const echo = rpcSpans(agent.sink.spans(), 'Echo', SpanKind.SERVER).slice(before);
    assert.equal(echo.length, 50);
    assert.equal(new Set(echo.map((s) => attr(s, 'network.peer.port'))).size, 1, 'one connection');
    const point = await waitFor('rpc.server.duration of Echo', () => agent.sink.histogram('rpc.server.duration')
      .find((p) => p.attributes['rpc.method'] === 'Echo' && p.count === before + 50));
    assert.equal(point.attributes['rpc.service'], 'sonde.test.Echo');
    assert.equal(point.attributes['rpc.grpc.status_code'], 0);
  });

  it('a traceparent in the metadata: the call joins the caller\'s trace', async (t) => {
    if (!bpfOrSkip(t)) return;
    const traceId = '5b8aa5a2d2c872e8321cf37308d69df2';
    const parent = '051581bf3cb55c13';
    assert.equal(await client('unary', `00-${traceId}-${parent}-01`), 'done 0');
    const spans = await agent.spansWhere('traced Echo spans', (s) => s.filter((x) => x.traceId === traceId).length >= 2);
    const server = spans.find((s) => s.traceId === traceId && s.kind === SpanKind.SERVER)!;
    const clientSpan = spans.find((s) => s.traceId === traceId && s.kind === SpanKind.CLIENT)!;
    assert.equal(clientSpan.spanId, parent);
    assert.equal(server.parentSpanId, parent);
  });
});

describe('Python grpcio (C core) as server and as client', { skip }, () => {
  it('grpc-js → python server, python client → grpc-js server', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, PYTHON)) return;
    if ((await run(PYTHON, ['-c', 'import grpc'])).code !== 0) {
      const why = `${PYTHON} cannot import grpc (apt-get install python3-grpcio)`;
      if (process.env.SONDE_REQUIRE_TOOLS === '1') throw new Error(`python3-grpcio required (SONDE_REQUIRE_TOOLS=1): ${why}`);
      t.skip(`skip: ${why}`);
      return;
    }
    const pyServer = startChild(PYTHON, ['-u', '-c', PY_SERVER]);
    let jsServer: Child | undefined;
    let agent: Agent | undefined;
    try {
      const pyPort = Number((await waitForOutput(pyServer, /listening (\d+)/))[1]);
      const js = await startNodeApp('grpc-js-server', []);
      jsServer = js.child;
      const jsPort = js.port;
      agent = await startAgent([pyPort, jsPort]);
      // grpc-js client → Python server.
      const r = await run(process.execPath, [appPath('grpc-js-client'), String(pyPort), 'unary']);
      assert.equal(r.stdout.trim(), 'done 0', r.stderr);
      const r2 = await run(process.execPath, [appPath('grpc-js-client'), String(pyPort), 'fail']);
      assert.equal(r2.stdout.trim(), 'done 5', r2.stderr);
      // Python client → grpc-js server, with a traceparent.
      const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
      const py = await run(PYTHON, ['-c', PY_CLIENT, String(jsPort), `00-${traceId}-1122334455667788-01`]);
      assert.equal(py.code, 0, py.stderr);
      assert.match(py.stdout, /status 5\ndone/);

      const spans = await agent.spansWhere('python server and client spans', (s) =>
        s.filter((x) => x.resource['process.pid'] === pyServer.pid && x.kind === SpanKind.SERVER).length >= 2
        && s.filter((x) => x.kind === SpanKind.CLIENT && attr(x, 'server.port') === jsPort).length >= 2);
      const pyServerSpans = spans.filter((x) => x.resource['process.pid'] === pyServer.pid && x.kind === SpanKind.SERVER);
      assert.deepEqual(pyServerSpans.map((s) => [s.name, attr(s, 'rpc.grpc.status_code')]).sort(),
        [['sonde.test.Echo/Echo', 0], ['sonde.test.Echo/Fail', 5]]);
      const pyClientSpans = spans.filter((x) => x.kind === SpanKind.CLIENT && attr(x, 'server.port') === jsPort);
      const echo = pyClientSpans.find((s) => attr(s, 'rpc.method') === 'Echo')!;
      assert.equal(echo.traceId, traceId);
      assert.equal(echo.spanId, '1122334455667788');
      assert.equal(attr(echo, 'rpc.system'), 'grpc');
      const fail = pyClientSpans.find((s) => attr(s, 'rpc.method') === 'Fail')!;
      assert.equal(attr(fail, 'rpc.grpc.status_code'), 5);
      assert.equal(fail.status.code, StatusCode.ERROR);
      // The grpc-js server saw the Python client's call in the same trace.
      const jsServerEcho = spans.find((s) => s.kind === SpanKind.SERVER && s.traceId === traceId)!;
      assert.equal(jsServerEcho.parentSpanId, '1122334455667788');
    } finally {
      await agent?.stop();
      await pyServer.stop();
      await jsServer?.stop();
    }
  });
});

describe('Node http2 server and curl --http2-prior-knowledge', { skip }, () => {
  it('non-gRPC HTTP/2 becomes HTTP spans and HTTP metrics', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    await withNodeAppAndAgent('http2-server', [], async ({ agent, child, port }) => {
      await curl('--http2-prior-knowledge', '-o', '/dev/null', `http://127.0.0.1:${port}/items/7`);
      await curl('--http2-prior-knowledge', '-o', '/dev/null', `http://127.0.0.1:${port}/status/503`);
      const spans = await agent.spansWhere('http2 server spans', (s) => s.filter((x) => x.kind === SpanKind.SERVER).length >= 2);
      const ok = spans.find((s) => s.kind === SpanKind.SERVER && attr(s, 'url.path') === '/items/7')!;
      assert.equal(ok.name, 'GET /items/*');
      assert.equal(attr(ok, 'network.protocol.version'), '2');
      assert.equal(attr(ok, 'http.response.status_code'), 200);
      assert.equal(ok.resource['process.pid'], child.pid);
      const failed = spans.find((s) => s.kind === SpanKind.SERVER && attr(s, 'url.path') === '/status/503')!;
      assert.equal(failed.status.code, StatusCode.ERROR);
      const curlSpan = spans.find((s) => s.kind === SpanKind.CLIENT && attr(s, 'url.path') === '/items/7')!;
      assert.equal(ok.parentSpanId, curlSpan.spanId);
      const point = await waitFor('HTTP/2 in http.server.request.duration', () => agent.sink.histogram('http.server.request.duration')
        .find((p) => p.attributes['network.protocol.version'] === '2' && p.attributes['http.response.status_code'] === 503));
      assert.equal(point.count, 1);
    });
  });
});

describe('h2c via HTTP/1.1 Upgrade (curl --http2)', { skip }, () => {
  it('the upgraded request is one HTTP/2 exchange with its HTTP/2 response', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    await withNodeAppAndAgent('h2c-upgrade-server', [], async ({ agent, port }) => {
      const r = await curl('--http2', `http://127.0.0.1:${port}/upgraded`);
      assert.equal(r.stdout, 'ok\n');
      const spans = await agent.spansWhere('server and client span of /upgraded', (s) => s.filter((x) => attr(x, 'url.path') === '/upgraded').length >= 2);
      const up = spans.filter((x) => attr(x, 'url.path') === '/upgraded');
      assert.equal(up.length, 2, 'one exchange per side: the 101 is not reported separately');
      for (const s of up) {
        assert.equal(s.name, 'GET /upgraded');
        assert.equal(attr(s, 'http.response.status_code'), 200);
        assert.equal(attr(s, 'network.protocol.version'), '2');
        assert.equal(attr(s, 'http.response.body.size'), 3);
      }
      assert.deepEqual(up.map((s) => s.kind).sort(), [SpanKind.SERVER, SpanKind.CLIENT].sort());
    });
  });
});

describe('gRPC on a connection opened before the agent started', { skip }, () => {
  it('later calls are recovered from what HPACK still allows (literal :path, static statuses)', async (t) => {
    if (!bpfOrSkip(t)) return;
    const { child: server, port } = await startNodeApp('grpc-js-server', []);
    const client = startChild(process.execPath, [appPath('grpc-js-client'), String(port), 'preopen']);
    let agent: Agent | undefined;
    try {
      await waitForOutput(client, /connected/);
      agent = await startAgent([port]);
      client.proc.kill('SIGUSR2');
      await waitForOutput(client, /done 0,5/);
      const spans = await agent.spansWhere('Fail server span', (s) => rpcSpans(s, 'Fail', SpanKind.SERVER).length === 1);
      const fail = rpcSpans(spans, 'Fail', SpanKind.SERVER)[0]!;
      assert.equal(fail.name, 'sonde.test.Echo/Fail');
      assert.equal(fail.resource['process.pid'], server.pid);
      // Whatever else was recovered must be right: a status, when present, is the real one.
      const status = attr(fail, 'rpc.grpc.status_code');
      assert.ok(status === undefined || status === 5, `status ${status}`);
      for (const s of agent.sink.spans()) assert.ok(['Fail', 'Echo'].includes(String(attr(s, 'rpc.method'))), `unexpected span ${s.name}`);
    } finally {
      await agent?.stop();
      await client.stop();
      await server.stop();
    }
  });
});
