// Micro-benchmark of the HTTP/2 + HPACK + gRPC parser on a synthetic gRPC unary workload.
// Run: npx tsc -p tsconfig.json && node dist/bench/http2-parse.js [calls]
// Reports MB/s of wire bytes and streams/s, with full payload capture and with head-only capture
// (DATA bodies are holes, as the kernel capture delivers them).
import { Http2Connection } from '../src/protocols/http2/index.js';
import type { CapturedSegment, Direction } from '../src/protocols/segment.js';
import { concatBytes } from '../src/protocols/bytes.js';
import { DATA, EH, ES, HEADERS, PREFACE, SETTINGS, TestHpackEncoder, frame, grpcMessage } from '../test/protocols/http2/h2-builder.js';

const calls = Number(process.argv[2] ?? 20000);
const MSS = 1460;

interface Batch { dir: Direction; bytes: Uint8Array; frames: Uint8Array[] }

function workload(n: number): Batch[] {
  const ce = new TestHpackEncoder();
  const se = new TestHpackEncoder();
  const batch = (dir: Direction, frames: Uint8Array[]): Batch => ({ dir, frames, bytes: concatBytes(frames) });
  const batches: Batch[] = [batch('ingress', [PREFACE, frame(SETTINGS, 0, 0, [])]), batch('egress', [frame(SETTINGS, 0, 0, [])])];
  for (let i = 0; i < n; i += 100) {
    const req: Uint8Array[] = [];
    const resp: Uint8Array[] = [];
    for (let k = i; k < Math.min(n, i + 100); k++) {
      const id = 2 * k + 1;
      req.push(frame(HEADERS, EH, id, ce.encode([[':method', 'POST'], [':scheme', 'http'], [':path', '/bench.Service/Call'],
        [':authority', 'bench:50051'], ['content-type', 'application/grpc'], ['te', 'trailers'], ['user-agent', 'grpc-node-js/1.14'],
        ['traceparent', `00-${k.toString(16).padStart(32, '0')}-${k.toString(16).padStart(16, '0')}-01`]])));
      req.push(frame(DATA, ES, id, grpcMessage(new Uint8Array(200))));
      resp.push(frame(HEADERS, EH, id, se.encode([[':status', '200'], ['content-type', 'application/grpc']])));
      resp.push(frame(DATA, 0, id, grpcMessage(new Uint8Array(500))));
      resp.push(frame(HEADERS, EH | ES, id, se.encode([['grpc-status', '0'], ['grpc-message', '']])));
    }
    batches.push(batch('ingress', req), batch('egress', resp));
  }
  return batches;
}

/** headOnly: one segment per frame, DATA frames captured as frame header + gRPC prefix only. */
function segments(batches: Batch[], headOnly: boolean): Array<[Direction, CapturedSegment]> {
  const offset = { ingress: 0, egress: 0 };
  const out: Array<[Direction, CapturedSegment]> = [];
  let ts = 0n;
  const add = (dir: Direction, chunk: Uint8Array, headLen: number) => {
    out.push([dir, { offset: offset[dir], length: chunk.length, head: chunk.slice(0, headLen), tail: new Uint8Array(0), timestampNs: ts++ }]);
    offset[dir] += chunk.length;
  };
  for (const b of batches) {
    if (headOnly) {
      for (const f of b.frames) add(b.dir, f, f[3] === DATA ? Math.min(f.length, 14) : f.length);
    } else {
      for (let at = 0; at < b.bytes.length; at += MSS) {
        const chunk = b.bytes.subarray(at, Math.min(b.bytes.length, at + MSS));
        add(b.dir, chunk, chunk.length);
      }
    }
  }
  return out;
}

function run(label: string, segs: Array<[Direction, CapturedSegment]>): void {
  const wire = segs.reduce((n, [, s]) => n + s.length, 0);
  let best = Infinity;
  let exchanges = 0;
  for (let rep = 0; rep < 5; rep++) {
    const conn = new Http2Connection({ role: 'server' });
    const t0 = process.hrtime.bigint();
    exchanges = 0;
    for (const [dir, s] of segs) exchanges += conn.push(dir, s).length;
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  if (exchanges !== calls) throw new Error(`${label}: expected ${calls} exchanges, got ${exchanges}`);
  console.log(`${label.padEnd(34)} ${(wire / 1e6 / best).toFixed(1).padStart(7)} MB/s  ${Math.round(calls / best).toLocaleString('en-US').padStart(10)} streams/s  (${calls} calls, ${(wire / 1e6).toFixed(1)} MB, best of 5)`);
}

const batches = workload(calls);
run('full capture, 1460-byte segments', segments(batches, false));
run('head-only DATA (frame+prefix, 14 B)', segments(batches, true));
