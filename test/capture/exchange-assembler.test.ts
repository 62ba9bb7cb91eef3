// ExchangeAssembler on synthetic capture records (no BPF needed): protocol detection, origin and
// role, non-HTTP connections given up on, process filtering, the h2c upgrade hand-over, idle
// cleanup and the connection bound. Real-traffic coverage is in test/integration/.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionTable } from '../../src/capture/connection-table.js';
import { ExchangeAssembler, type ExchangeAssemblerOptions } from '../../src/capture/exchange-assembler.js';
import type { ConnectionEvent, PayloadEvent } from '../../src/ebpf/index.js';

const EMPTY = new Uint8Array(0);
const SERVER_PORT = 8080;

/** Records of one connection as seen on the server's socket (ingress = requests). */
class Conn {
  private seq = { ingress: 1000, egress: 5000 };
  ts = 1_000_000_000n;
  constructor(readonly cookie: bigint, readonly remotePort = 40000 + Number(cookie)) {}

  private base() {
    return { cookie: this.cookie, sk: this.cookie, family: 4 as const, localAddr: '127.0.0.1', localPort: SERVER_PORT, remoteAddr: '127.0.0.1', remotePort: this.remotePort };
  }

  /** The server accepted it (SYN_RECV → ESTABLISHED): the agent saw the connection open. */
  accepted(pid = 4242): ConnectionEvent[] {
    const state = (oldState: ConnectionEvent['oldState'], newState: ConnectionEvent['newState']): ConnectionEvent =>
      ({ kind: 'connection', type: 'state', tsNs: (this.ts += 1000n), ...this.base(), oldState, newState, bytesReceived: 0n, bytesSent: 0n, pid });
    return [state('LISTEN', 'SYN_RECV'), state('SYN_RECV', 'ESTABLISHED')];
  }

  closed(): ConnectionEvent {
    return { kind: 'connection', type: 'state', tsNs: (this.ts += 1000n), ...this.base(), oldState: 'LAST_ACK', newState: 'CLOSE', bytesReceived: 0n, bytesSent: 0n };
  }

  data(direction: 'ingress' | 'egress', bytes: Uint8Array | string, pid?: number): PayloadEvent {
    const head = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
    const seq = this.seq[direction];
    this.seq[direction] += head.length;
    return { kind: 'payload', direction, tsNs: (this.ts += 1_000_000n), ...this.base(), pid: direction === 'egress' ? pid : undefined, seq, length: head.length, head, tail: EMPTY };
  }
}

const assembler = (opts: ExchangeAssemblerOptions = {}) => new ExchangeAssembler({ table: new ConnectionTable({ procFallback: false }), ...opts });
/** An assembler that saw connection `cookie` being accepted by pid 4242. */
function acceptedConnection(cookie: bigint, opts: ExchangeAssemblerOptions = {}): [ExchangeAssembler, Conn] {
  const a = assembler(opts);
  const c = new Conn(cookie);
  a.apply(c.accepted());
  return [a, c];
}
const frame = (type: number, flags: number, stream: number, payload: number[] = []) =>
  Buffer.from([payload.length >> 16, (payload.length >> 8) & 0xff, payload.length & 0xff, type, flags, stream >> 24, (stream >> 16) & 0xff, (stream >> 8) & 0xff, stream & 0xff, ...payload]);
const SETTINGS = frame(4, 0, 0);

describe('ExchangeAssembler', () => {
  it('HTTP/1.1 on a connection seen from its start: one exchange with the server origin', () => {
    const [a, c] = acceptedConnection(1n);
    const out = a.apply([
      c.data('ingress', 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n'),
      c.data('egress', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 4242),
    ]);
    assert.equal(out.length, 1);
    assert.equal(out[0]!.exchange.request.target, '/a');
    assert.deepEqual(out[0]!.origin, { role: 'server', pid: 4242, connectionId: 1, localAddress: '127.0.0.1', localPort: SERVER_PORT, remoteAddress: '127.0.0.1', remotePort: 40001, family: 4 });
    assert.equal(a.stats.exchanges.http1, 1);
  });

  it('a connection that predates the agent: role inferred from the first start line', () => {
    const a = assembler();
    const c = new Conn(2n);
    const out = a.apply([
      c.data('ingress', 'ody of an earlier request'),
      c.data('ingress', 'GET /late HTTP/1.1\r\nHost: x\r\n\r\n'),
      c.data('egress', 'HTTP/1.1 204 No Content\r\n\r\n', 7),
    ]);
    assert.equal(out.length, 1);
    assert.equal(out[0]!.exchange.request.target, '/late');
    assert.equal(out[0]!.origin.role, 'server');
  });

  it('non-HTTP traffic is given up on and never produces exchanges', () => {
    const [a, c] = acceptedConnection(3n, { detectionBytes: 1000 });
    const out = a.apply([c.data('ingress', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'), c.data('egress', 'SSH-2.0-OpenSSH\r\n', 1)]);
    assert.equal(out.length, 0);
    assert.equal(a.stats.notHttp, 1);
    // Later HTTP-looking bytes on the same connection are not parsed.
    assert.equal(a.apply([c.data('ingress', 'GET / HTTP/1.1\r\n\r\n'), c.data('egress', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 1)]).length, 0);
  });

  it('a process the filter refuses is not parsed', () => {
    const a = assembler({ accept: (conn) => conn.pid !== 666 });
    const c = new Conn(4n);
    a.apply(c.accepted(666));
    const out = a.apply([c.data('ingress', 'GET / HTTP/1.1\r\n\r\n'), c.data('egress', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 666)]);
    assert.equal(out.length, 0);
    assert.equal(a.stats.filtered, 1);
  });

  it('requests without a response end as "closed" when the connection closes, and after an idle timeout', () => {
    const [a, c] = acceptedConnection(5n, { idleTimeoutMs: 1000 });
    assert.equal(a.apply([c.data('ingress', 'GET /wait HTTP/1.1\r\n\r\n')]).length, 0);
    const closed = a.apply([c.closed()]);
    assert.equal(closed.length, 1);
    assert.equal(closed[0]!.exchange.error, 'closed');
    assert.equal(a.connectionsTracked, 0);

    const d = new Conn(6n);
    a.apply(d.accepted());
    a.apply([d.data('ingress', 'GET /idle HTTP/1.1\r\n\r\n')]);
    assert.equal(a.sweep(d.ts + 500_000_000n).length, 0, 'not idle yet');
    const idle = a.sweep(d.ts + 2_000_000_000n);
    assert.equal(idle.length, 1);
    assert.equal(idle[0]!.exchange.request.target, '/idle');
    assert.equal(a.stats.idleClosed, 1);
  });

  it('h2c: Upgrade + 101 hand the connection to HTTP/2; the request is stream 1 and its response comes as HTTP/2', () => {
    const [a, c] = acceptedConnection(7n);
    const up = a.apply([
      c.data('ingress', 'GET /up HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n'),
      // The 101 and the server's first HTTP/2 frames in one packet.
      c.data('egress', Buffer.concat([Buffer.from('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n'), SETTINGS]), 9),
    ]);
    assert.equal(up.length, 0, 'the 101 is not reported as an HTTP/1.1 exchange');
    assert.equal(a.stats.h2cUpgrades, 1);
    const out = a.apply([
      c.data('ingress', Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), SETTINGS])),
      // HEADERS (:status 200 = static index 8) then DATA "ok" with END_STREAM, on stream 1.
      c.data('egress', Buffer.concat([frame(1, 0x4, 1, [0x88]), frame(0, 0x1, 1, [0x6f, 0x6b])]), 9),
    ]);
    assert.equal(out.length, 1);
    const x = out[0]!.exchange;
    assert.equal(x.protocol, 'http2');
    assert.equal(x.request.method, 'GET');
    assert.equal(x.request.target, '/up');
    assert.equal(x.response?.status, 200);
    assert.equal(x.response?.bodySize, 2);
    assert.equal(out[0]!.origin.role, 'server');
  });

  it('HTTP/2 with prior knowledge is detected from the preface', () => {
    const [a, c] = acceptedConnection(8n);
    // HEADERS: :method GET (2), :scheme http (6), :path / (4), END_STREAM|END_HEADERS.
    const out = a.apply([
      c.data('ingress', Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), SETTINGS, frame(1, 0x5, 1, [0x82, 0x86, 0x84])])),
      c.data('egress', Buffer.concat([SETTINGS, frame(1, 0x5, 1, [0x88])]), 3),
    ]);
    assert.equal(out.length, 1);
    assert.equal(out[0]!.exchange.request.target, '/');
    assert.equal(out[0]!.exchange.response?.status, 200);
    assert.equal(a.stats.exchanges.http2, 1);
  });

  it('holds at most maxConnections parsers, closing the least recently active (to within 1 s)', () => {
    const a = assembler({ maxConnections: 2 });
    const [c10, c11, c12] = [new Conn(10n), new Conn(11n), new Conn(12n)];
    a.apply([...c10.accepted(), c10.data('ingress', 'GET /10 HTTP/1.1\r\n\r\n')]);
    a.apply([...c11.accepted(), c11.data('ingress', 'GET /11 HTTP/1.1\r\n\r\n')]);
    c10.ts += 2_000_000_000n; // the eviction order is refreshed at most once a second per connection
    a.apply([c10.data('egress', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 1)]); // 10 is active again
    const evicted = a.apply([...c12.accepted(), c12.data('ingress', 'GET /12 HTTP/1.1\r\n\r\n')]);
    assert.equal(a.connectionsTracked, 2);
    assert.equal(a.stats.evicted, 1);
    assert.deepEqual(evicted.map((x) => [x.exchange.request.target, x.exchange.error]), [['/11', 'closed']]);
  });
});

describe('ExchangeAssembler request starts and their links on this host', () => {
  const PID = 4242;
  /** A payload record of a connection with explicit endpoints (client connections need their own). */
  function payload(cookie: bigint, direction: 'ingress' | 'egress', text: string, ends: { local: number; remote: number }, seq: number, tsNs: bigint,
    sender?: { tid: number; reads?: bigint[] }): PayloadEvent {
    const head = Buffer.from(text, 'latin1');
    return {
      kind: 'payload', direction, tsNs, cookie, sk: cookie, family: 4, localAddr: '127.0.0.1', localPort: ends.local, remoteAddr: '127.0.0.1', remotePort: ends.remote,
      pid: sender ? PID : undefined, tid: sender?.tid, contextSockets: sender?.reads, seq, length: head.length, head, tail: EMPTY,
    };
  }
  const connect = (cookie: bigint, remotePort: number, tsNs: bigint, ctx?: { tid: number; reads: bigint[] }): ConnectionEvent => ({
    kind: 'connection', type: 'connect', tsNs, cookie, sk: cookie, family: 4, pid: PID, tid: ctx?.tid ?? PID, comm: 'app', oldState: 'CLOSE', newState: 'SYN_SENT',
    localAddr: '127.0.0.1', localPort: 0, remoteAddr: '127.0.0.1', remotePort, bytesReceived: 0n, bytesSent: 0n, contextSockets: ctx?.reads,
  });
  const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
  const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';

  it('a call sent by the thread that read a request is that request\'s child (exact); a call sent by the main thread is inferred', () => {
    const [a, server] = acceptedConnection(1n);
    a.apply([server.data('ingress', GET('/in'))]);
    const [incoming] = a.takeStarts();
    assert.equal(incoming!.origin.role, 'server');
    assert.equal(incoming!.start.sequence, 1);
    const serverId = incoming!.origin.connectionId!;
    // Worker thread 4300 read connection 1 last, then sends a call on a pre-existing connection 50.
    a.apply([payload(50n, 'egress', GET('/call'), { local: 50000, remote: 9000 }, 1, 2_000_000_000n, { tid: 4300, reads: [1n] })]);
    const [call] = a.takeStarts();
    assert.equal(call!.origin.role, 'client');
    assert.deepEqual(call!.parent, { connectionId: serverId, sequence: 1, inferred: false });
    // The main thread (tid = pid) of an event loop: the same link, marked inferred.
    a.apply([payload(50n, 'ingress', OK, { local: 50000, remote: 9000 }, 1, 2_100_000_000n),
      payload(50n, 'egress', GET('/call2'), { local: 50000, remote: 9000 }, 1 + GET('/call').length, 2_200_000_000n, { tid: PID, reads: [1n] })]);
    assert.deepEqual(a.takeStarts().map((s) => s.parent), [{ connectionId: serverId, sequence: 1, inferred: true }]);
    assert.deepEqual({ exact: a.stats.parents.exact, inferred: a.stats.parents.inferred }, { exact: 1, inferred: 1 });
  });

  it('a call after reading an earlier call\'s response has that call\'s parent; no context or no request served is counted', () => {
    const [a, server] = acceptedConnection(1n);
    a.apply([server.data('ingress', GET('/in'))]);
    const serverId = a.takeStarts()[0]!.origin.connectionId!;
    a.apply([payload(50n, 'egress', GET('/first'), { local: 50000, remote: 9000 }, 1, 2_000_000_000n, { tid: 4300, reads: [1n] }),
      payload(50n, 'ingress', OK, { local: 50000, remote: 9000 }, 1, 2_100_000_000n)]);
    // Thread 4300 read the response on connection 50 last, then calls out on connection 60.
    a.apply([payload(60n, 'egress', GET('/second'), { local: 50001, remote: 9001 }, 1, 2_200_000_000n, { tid: 4300, reads: [50n, 1n] })]);
    const starts = a.takeStarts();
    assert.deepEqual(starts.map((s) => [s.start.sequence, s.parent]), [[1, { connectionId: serverId, sequence: 1, inferred: false }], [1, { connectionId: serverId, sequence: 1, inferred: false }]]);
    // A sender without thread context (softirq) and a thread whose reads lead nowhere.
    a.apply([payload(70n, 'egress', GET('/x'), { local: 50002, remote: 9002 }, 1, 2_300_000_000n),
      payload(80n, 'egress', GET('/y'), { local: 50003, remote: 9003 }, 1, 2_400_000_000n, { tid: 4301, reads: [999n] })]);
    assert.deepEqual(a.takeStarts().map((s) => s.parent), [undefined, undefined]);
    assert.deepEqual(a.stats.parents, { exact: 2, inferred: 0, noContext: 1, notServing: 1 });
  });

  it('the first request on a connection opened while serving uses the connecting thread\'s reads, later ones the sender\'s', () => {
    const [a, server] = acceptedConnection(1n);
    const other = new Conn(2n);
    a.apply([...other.accepted(), server.data('ingress', GET('/one')), other.data('ingress', GET('/two'))]);
    const [one, two] = a.takeStarts().map((s) => s.origin.connectionId!);
    // An event loop opens connection 90 while serving /one, but sends on it after reading /two.
    a.apply([connect(90n, 9000, 3_000_000_000n, { tid: PID, reads: [1n] }),
      payload(90n, 'egress', GET('/call'), { local: 50010, remote: 9000 }, 1, 3_100_000_000n, { tid: PID, reads: [2n, 1n] })]);
    assert.deepEqual(a.takeStarts()[0]!.parent, { connectionId: one, sequence: 1, inferred: true });
    a.apply([payload(90n, 'ingress', OK, { local: 50010, remote: 9000 }, 1, 3_200_000_000n),
      payload(90n, 'egress', GET('/call2'), { local: 50010, remote: 9000 }, 1 + GET('/call').length, 3_300_000_000n, { tid: PID, reads: [2n, 90n] })]);
    assert.deepEqual(a.takeStarts()[0]!.parent, { connectionId: two, sequence: 1, inferred: true });
  });

  it('a server request whose client end is on this host names the client request as its peer', () => {
    const a = assembler();
    // Client connection 50 (127.0.0.1:50000 → :8080) and the server's accepted socket 51 for it.
    a.apply([payload(50n, 'egress', GET('/a'), { local: 50000, remote: SERVER_PORT }, 1, 1_000_000_000n, { tid: 77 }),
      payload(51n, 'ingress', GET('/a'), { local: SERVER_PORT, remote: 50000 }, 1, 1_000_100_000n)]);
    const [client, server] = a.takeStarts();
    assert.equal(client!.origin.role, 'client');
    assert.equal(server!.origin.role, 'server');
    assert.deepEqual(server!.peer, { connectionId: client!.origin.connectionId, sequence: 1 });
  });

  it('starts come before the exchange they begin, and carry the same sequence', () => {
    const [a, server] = acceptedConnection(1n);
    const done = a.apply([server.data('ingress', GET('/a') + GET('/b')), server.data('egress', OK + OK, PID)]);
    assert.deepEqual(a.takeStarts().map((s) => s.start.sequence), [1, 2]);
    assert.deepEqual(done.map((d) => d.exchange.sequence), [1, 2]);
  });
});
