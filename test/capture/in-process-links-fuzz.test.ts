// Seeded random traffic through the assembler and the trace linker together: interleaved requests,
// responses, pipelining, closes mid-request, connects and thread contexts naming random (often
// unknown or stale) sockets. Nothing throws, every link names a request that started, and the
// linker holds no more contexts than its bound. (A short slice runs here; SONDE_FUZZ_ROUNDS raises it.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionTable } from '../../src/capture/connection-table.js';
import { ExchangeAssembler } from '../../src/capture/exchange-assembler.js';
import type { CaptureEvent, PayloadEvent } from '../../src/ebpf/index.js';
import { MonotonicClock } from '../../src/telemetry/clock.js';
import { SpanFactory } from '../../src/telemetry/spans.js';
import { TraceLinker } from '../../src/telemetry/trace-linker.js';
import { prng } from '../helpers/prng.js';

const ROUNDS = Number(process.env.SONDE_FUZZ_ROUNDS ?? 20);
const EMPTY = new Uint8Array(0);
const REQUESTS = ['GET /a HTTP/1.1\r\nHost: x\r\n\r\n', 'POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc',
  'GET /c HTTP/1.1\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n', 'GET /d HTTP/1.1\r\n'];
const RESPONSES = ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nno', 'HTTP/1.1 204 No Content\r\n\r\n', 'garbage\r\n'];

test('random in-process traffic: no throw, links name started requests, bounded contexts', () => {
  const linked = { parents: 0, peers: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const rnd = prng(1000 + round);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const assembler = new ExchangeAssembler({ table: new ConnectionTable({ procFallback: false }), maxConnections: 16 });
    const linker = new TraceLinker(new SpanFactory(new MonotonicClock(), { parentBasedSampling: true }), 32);
    const seq = new Map<bigint, { ingress: number; egress: number }>();
    const started = new Set<string>();
    let ts = 1_000_000_000n;
    for (let i = 0; i < 400; i++) {
      const cookie = BigInt(1 + Math.floor(rnd() * 24));
      const server = cookie % 2n === 0n;
      const s = seq.get(cookie) ?? { ingress: 1, egress: 1 };
      seq.set(cookie, s);
      // Server socket 2k is the accepted end of client socket 2k-1: the same connection seen from both processes.
      const ends = server ? { localPort: 8080, remotePort: 40000 + Number(cookie) - 1 } : { localPort: 40000 + Number(cookie), remotePort: 8080 };
      ts += BigInt(1 + Math.floor(rnd() * 1000)) * 1000n;
      let event: CaptureEvent;
      const r = rnd();
      if (r < 0.05) {
        event = { kind: 'connection', type: 'state', tsNs: ts, cookie, sk: cookie, family: 4, oldState: 'ESTABLISHED', newState: 'CLOSE', localAddr: '127.0.0.1', remoteAddr: '127.0.0.1', ...ends, bytesReceived: 0n, bytesSent: 0n };
        seq.delete(cookie);
      } else if (r < 0.1) {
        event = { kind: 'connection', type: 'connect', tsNs: ts, cookie, sk: cookie, family: 4, pid: 7, tid: pick([7, 8]), oldState: 'CLOSE', newState: 'SYN_SENT', localAddr: '127.0.0.1', localPort: 0, remoteAddr: '127.0.0.1', remotePort: 8080, bytesReceived: 0n, bytesSent: 0n, contextSockets: rnd() < 0.5 ? [BigInt(Math.floor(rnd() * 30))] : undefined };
      } else {
        // Requests go client → server: ingress on server sockets, egress on client ones; responses the other way.
        const request = rnd() < 0.6;
        const direction = request === server ? 'ingress' : 'egress';
        const text = Buffer.from(request ? pick(REQUESTS) : pick(RESPONSES), 'latin1');
        const sender = direction === 'egress' && rnd() < 0.8;
        const payload: PayloadEvent = {
          kind: 'payload', direction, tsNs: ts, cookie, sk: cookie, family: 4, localAddr: '127.0.0.1', remoteAddr: '127.0.0.1', ...ends,
          pid: sender ? 7 : undefined, tid: sender ? pick([7, 8, 9]) : undefined,
          contextSockets: sender && rnd() < 0.7 ? Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => BigInt(Math.floor(rnd() * 30))) : undefined,
          seq: s[direction], length: text.length, head: text, tail: EMPTY,
        };
        s[direction] += text.length;
        event = payload;
      }
      const done = [...assembler.apply([event]), ...(rnd() < 0.02 ? assembler.sweep(ts + 120_000_000_000n) : [])];
      for (const st of assembler.takeStarts()) {
        linker.start(st);
        started.add(`${st.origin.connectionId}:${st.start.sequence}`);
        if (st.parent) linked.parents++;
        if (st.peer) linked.peers++;
        if (st.parent) assert.ok(started.has(`${st.parent.connectionId}:${st.parent.sequence}`), `round ${round}: a parent that never started`);
        if (st.peer) assert.ok(started.has(`${st.peer.connectionId}:${st.peer.sequence}`), `round ${round}: a peer that never started`);
      }
      for (const { exchange, origin } of done) linker.end(origin.connectionId, exchange.sequence);
    }
    assert.ok((linker as unknown as { contexts: Map<number, unknown> }).contexts.size <= 32, 'contexts stay within their bound');
  }
  // The traffic exercised linking at all (a generator that never linked would prove nothing).
  assert.ok(linked.parents > ROUNDS && linked.peers > ROUNDS, `links found: ${JSON.stringify(linked)}`);
});
