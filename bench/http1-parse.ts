// Micro-benchmark of the HTTP/1.x parser on the hot path: segments as the capture delivers them.
// Run: node dist/bench/http1-parse.js [seconds-per-case]   (default 1)
// Prints, per case, wire MB/s (real payload bytes, holes included), captured MB/s (bytes the
// parser actually looked at) and exchanges/s.
import { Http1Connection } from '../src/protocols/http1/index.js';
import type { CapturedSegment, Direction } from '../src/protocols/segment.js';
import { packetAt } from '../test/helpers/segments.js';

const enc = new TextEncoder();

interface Case { name: string; events: Array<[Direction, CapturedSegment]>; wireBytes: number; capturedBytes: number; exchanges: number }

/** One keep-alive connection of `n` exchanges; each message one packet (bodies split into 64 KB packets). */
function buildCase(name: string, n: number, bodyBytes: number, capture: number, chunked: boolean): Case {
  const req = enc.encode('GET /api/v1/users/12345?expand=orders HTTP/1.1\r\nHost: shop.internal:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n' +
    'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nAuthorization: Bearer abcdef\r\n\r\n');
  const body = new Uint8Array(bodyBytes).fill(0x7a);
  const head = enc.encode('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Sat, 21 Nov 2026 10:00:00 GMT\r\nConnection: keep-alive\r\n' +
    (chunked ? 'Transfer-Encoding: chunked\r\n\r\n' : `Content-Length: ${bodyBytes}\r\n\r\n`));
  const res = new Uint8Array(head.length + bodyBytes + (chunked ? 16 : 0));
  res.set(head);
  if (chunked) {
    const sizeLine = enc.encode(bodyBytes.toString(16) + '\r\n');
    res.set(sizeLine, head.length);
    res.set(body, head.length + sizeLine.length);
    res.set(enc.encode('\r\n0\r\n\r\n'), head.length + sizeLine.length + bodyBytes);
  } else {
    res.set(body, head.length);
  }
  const resLen = chunked ? head.length + bodyBytes + bodyBytes.toString(16).length + 2 + 7 : res.length;
  const events: Array<[Direction, CapturedSegment]> = [];
  let inOff = 0;
  let outOff = 0;
  let ts = 0n;
  let captured = 0;
  for (let i = 0; i < n; i++) {
    const q = packetAt(req, inOff, ts++, capture);
    events.push(['ingress', q]);
    captured += q.head.length + q.tail.length;
    inOff += req.length;
    for (let o = 0; o < resLen; o += 65536) {
      const s = packetAt(res.subarray(o, Math.min(resLen, o + 65536)), outOff + o, ts++, capture);
      events.push(['egress', s]);
      captured += s.head.length + s.tail.length;
    }
    outOff += resLen;
  }
  return { name, events, wireBytes: n * (req.length + resLen), capturedBytes: captured, exchanges: n };
}

function run(c: Case, seconds: number, print = true): void {
  let rounds = 0;
  let exchanges = 0;
  const t0 = process.hrtime.bigint();
  const until = t0 + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < until) {
    const conn = new Http1Connection({ role: 'server' });
    for (const [d, s] of c.events) exchanges += conn.push(d, s).length;
    rounds++;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (exchanges !== rounds * c.exchanges) throw new Error(`${c.name}: expected ${rounds * c.exchanges} exchanges, got ${exchanges}`);
  if (!print) return;
  const mb = (b: number) => ((b * rounds) / secs / 1e6).toFixed(0);
  console.log(`${c.name.padEnd(44)} ${mb(c.wireBytes).padStart(8)} wire MB/s ${mb(c.capturedBytes).padStart(6)} captured MB/s ${((exchanges / secs) / 1e3).toFixed(0).padStart(6)}k exchanges/s`);
}

const seconds = Number(process.argv[2] ?? 1);
const cases = [
  buildCase('small JSON (1 KB), 256-byte capture', 1000, 1024, 256, false),
  buildCase('small JSON (1 KB), full capture', 1000, 1024, 4096, false),
  buildCase('chunked 1 KB, full capture', 1000, 1024, 4096, true),
  buildCase('1 MB bodies, 256-byte heads of 64 KB', 50, 1 << 20, 256, false),
];
for (const c of cases) run(c, 0.2, false); // warm-up: let the JIT settle before measuring
for (const c of cases) run(c, seconds);
