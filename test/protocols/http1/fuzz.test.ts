// Fuzzing for a fixed time: random bytes, random mutations of valid streams, random segmentation,
// holes and gaps. The parser must never throw, must keep its buffers under the caps, and on valid
// streams cut at random (fully captured) must give back exactly the exchanges that were generated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Http1Connection } from '../../../src/protocols/http1/index.js';
import type { CapturedSegment, Direction } from '../../../src/protocols/segment.js';
import { concatBytes } from '../../../src/protocols/bytes.js';
import { xorshift32 } from '../../helpers/prng.js';
import { bytes, packet, packetsAt } from '../../helpers/segments.js';
import { brief } from './segments.js';

const MAX_HEADER_BYTES = 2048;
const MAX_PENDING = 16;
const BUDGET_MS = Number(process.env.SONDE_FUZZ_MS ?? 750); // per property; four properties ≈ 3 s

/** xorshift32 with integer and pick helpers. */
function seededRng(seed: number) {
  const next = xorshift32(seed);
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(a: readonly T[]): T => a[Math.floor(next() * a.length)]! };
}
type Rng = ReturnType<typeof seededRng>;

/**
 * reqHeadEnds[k]: offset just after request k's head; resStarts[k]: offset of response k;
 * messageStarts: offsets of every message (interim responses included) in each direction;
 * maxBodies[k]: the largest body sizes an estimate may give (the wire length for chunked bodies).
 */
interface Generated {
  req: Uint8Array; res: Uint8Array; expected: string[]; reqHeadEnds: number[]; resStarts: number[];
  messageStarts: { req: number[]; res: number[] }; maxBodies: Array<[number, number]>;
}

/** A random keep-alive stream of valid exchanges, and the exchange lines it must give. */
function generate(rng: Rng): Generated {
  const reqs: Uint8Array[] = [];
  const reqHeadEnds: number[] = [];
  let reqOffset = 0;
  const ress: Uint8Array[] = [];
  const expected: string[] = [];
  const messageStarts = { req: [] as number[], res: [] as number[] };
  const maxBodies: Array<[number, number]> = [];
  let resOffset = 0;
  const n = 1 + rng.int(5);
  for (let i = 0; i < n; i++) {
    const method = rng.pick(['GET', 'POST', 'HEAD', 'PUT', 'DELETE']);
    const target = `/r${rng.int(1000)}${rng.next() < 0.3 ? '?q=' + rng.int(99) : ''}`;
    let head = `${method} ${target} HTTP/1.1\r\nHost: h${i}\r\n` + 'X-Pad: p\r\n'.repeat(rng.int(4));
    let reqBody = 0;
    let body = '';
    if (method === 'POST' || method === 'PUT') {
      reqBody = rng.int(3000);
      if (rng.next() < 0.5) {
        head += `Content-Length: ${reqBody}\r\n`;
        body = 'b'.repeat(reqBody);
      } else {
        head += 'Transfer-Encoding: chunked\r\n';
        let left = reqBody;
        while (left > 0) { const c = 1 + rng.int(left); body += c.toString(16) + '\r\n' + 'c'.repeat(c) + '\r\n'; left -= c; }
        body += '0\r\n\r\n';
      }
    }
    messageStarts.req.push(reqOffset);
    reqHeadEnds.push(reqOffset + head.length + 2);
    reqs.push(bytes(head + '\r\n' + body));
    reqOffset += reqs[i]!.length;
    const status = rng.pick([200, 200, 201, 204, 304, 404, 500]);
    let res = rng.next() < 0.15 ? 'HTTP/1.1 100 Continue\r\n\r\n' : '';
    messageStarts.res.push(resOffset);
    if (res !== '') messageStarts.res.push(resOffset + res.length);
    res += `HTTP/1.1 ${status} X\r\nServer: fuzz\r\n`;
    const resHeadEnd = res.length;
    let resBody = 0;
    if (status === 204 || status === 304) {
      res += '\r\n';
    } else if (rng.next() < 0.5) {
      resBody = rng.int(5000);
      res += `Content-Length: ${resBody}\r\n\r\n` + (method === 'HEAD' ? '' : 'r'.repeat(resBody));
    } else {
      res += 'Transfer-Encoding: chunked\r\n\r\n';
      if (method !== 'HEAD') {
        resBody = rng.int(5000);
        let left = resBody;
        while (left > 0) { const c = 1 + rng.int(left); res += c.toString(16).toUpperCase() + '\r\n' + 'k'.repeat(c) + '\r\n'; left -= c; }
        res += '0\r\n\r\n';
      }
    }
    if (method === 'HEAD') resBody = 0;
    const resWire = res.length - res.indexOf('\r\n\r\n', resHeadEnd - 2) - 4;
    maxBodies.push([body.length, Math.max(resBody, resWire)]);
    ress.push(bytes(res));
    resOffset += res.length;
    expected.push(`${method} ${target} ${reqBody} -> ${status} ${resBody}`);
  }
  const resStarts = ress.map((_, k) => ress.slice(0, k).reduce((a, p) => a + p.length, 0));
  return { req: concatBytes(reqs), res: concatBytes(ress), expected, reqHeadEnds, resStarts, messageStarts, maxBodies };
}

/** Cuts a stream into packets at random; with `lossy`, small captures, dropped, duplicated and overlapping packets. */
function segment(rng: Rng, stream: Uint8Array, ts0: bigint, lossy: boolean): CapturedSegment[] {
  const out: CapturedSegment[] = [];
  let o = 0;
  let ts = ts0;
  while (o < stream.length) {
    const len = Math.min(stream.length - o, 1 + rng.int(rng.next() < 0.2 ? 4000 : 200));
    const capture = lossy ? rng.pick([0, 1, 8, 64, 256, 4096]) : len;
    const s = packet(stream, o, len, ts++, capture);
    if (!lossy || rng.next() > 0.05) out.push(s);
    if (lossy && rng.next() < 0.05) out.push(s); // duplicate
    if (lossy && rng.next() < 0.03 && o > 10) out.push(packet(stream, o - 10, len + 10, ts++, capture)); // overlap
    o += len;
  }
  return out;
}

/**
 * Interleaves requests (ingress) and responses (egress) at random, each direction in order, and
 * restamps them in push order. With `g`, causality holds: a response's bytes come only after
 * its request's head was sent (a server may answer before the body, never before the head).
 */
function interleave(rng: Rng, a: CapturedSegment[], b: CapturedSegment[], g?: Generated): Array<[Direction, CapturedSegment]> {
  const out: Array<[Direction, CapturedSegment]> = [];
  let i = 0;
  let j = 0;
  let reqSent = 0;
  const responseMayGo = (s: CapturedSegment) => {
    if (g === undefined) return true;
    let k = 0;
    while (k + 1 < g.resStarts.length && g.resStarts[k + 1]! < s.offset + s.length) k++;
    return reqSent >= g.reqHeadEnds[k]!;
  };
  while (i < a.length || j < b.length) {
    const takeReq = j >= b.length || (i < a.length && (rng.next() < 0.5 || !responseMayGo(b[j]!)));
    const [d, s] = takeReq ? ['ingress' as const, a[i++]!] : ['egress' as const, b[j++]!];
    if (takeReq) reqSent = Math.max(reqSent, s.offset + s.length);
    out.push([d, { ...s, timestampNs: BigInt(out.length) }]);
  }
  return out;
}

function mutate(rng: Rng, s: Uint8Array): Uint8Array {
  const b = Array.from(s);
  const n = 1 + rng.int(8);
  for (let k = 0; k < n && b.length > 0; k++) {
    const at = rng.int(b.length);
    switch (rng.int(4)) {
      case 0: b[at] = rng.int(256); break;
      case 1: b.splice(at, 1); break;
      case 2: b.splice(at, 0, rng.pick([0x0d, 0x0a, 0x20, 0x3a, 0x30, 0x48])); break;
      default: b.length = at; // truncate
    }
  }
  return new Uint8Array(b);
}

/** Feeds events, checking the memory bounds after every segment. */
function drive(conn: Http1Connection, events: Array<[Direction, CapturedSegment]>, close = true) {
  const out = [];
  for (const [d, s] of events) {
    out.push(...conn.push(d, s));
    assert.ok(conn.bufferedBytes <= 2 * MAX_HEADER_BYTES, `buffered ${conn.bufferedBytes}`);
    assert.ok(conn.pendingRequests <= MAX_PENDING, `pending ${conn.pendingRequests}`);
  }
  if (close) out.push(...conn.close());
  return out;
}

const options = () => ({ maxHeaderBytes: MAX_HEADER_BYTES, maxPendingRequests: MAX_PENDING });

function forDuration(name: string, body: (rng: Rng) => void): number {
  // SONDE_FUZZ_CASE=<case seed> replays one failing case; SONDE_FUZZ_SEED fixes the run.
  if (process.env.SONDE_FUZZ_CASE !== undefined) {
    body(seededRng(Number(process.env.SONDE_FUZZ_CASE)));
    return Infinity;
  }
  const seed = Number(process.env.SONDE_FUZZ_SEED ?? Date.now() % 1e9);
  const rng = seededRng(seed);
  const until = Date.now() + BUDGET_MS;
  let iterations = 0;
  while (Date.now() < until) {
    const caseSeed = rng.int(2 ** 31);
    try {
      body(seededRng(caseSeed));
    } catch (e) {
      throw new Error(`${name}: failed for case seed ${caseSeed} (run seed ${seed}): ${(e as Error).message}`, { cause: e });
    }
    iterations++;
  }
  return iterations;
}

test('fuzz: valid streams cut at random give exactly the generated exchanges', () => {
  const n = forDuration('valid', (rng) => {
    const g = generate(rng);
    const role = rng.pick(['server', 'unknown'] as const);
    const conn = new Http1Connection({ ...options(), role });
    const x = drive(conn, interleave(rng, segment(rng, g.req, 0n, false), segment(rng, g.res, 0n, false), g));
    assert.deepEqual(x.map(brief), g.expected);
    assert.equal(conn.stats.malformed + conn.stats.resyncs + conn.stats.unparseable, 0);
  });
  assert.ok(n > 50, `only ${n} iterations`);
});

test('fuzz: mutated streams with holes, gaps, duplicates and overlaps never throw and stay bounded', () => {
  const n = forDuration('mutated', (rng) => {
    const g = generate(rng);
    const req = rng.next() < 0.7 ? mutate(rng, g.req) : g.req;
    const res = rng.next() < 0.7 ? mutate(rng, g.res) : g.res;
    const conn = new Http1Connection({ ...options(), role: rng.pick(['server', 'client', 'unknown'] as const) });
    const x = drive(conn, interleave(rng, segment(rng, req, 0n, true), segment(rng, res, 0n, true)));
    assert.ok(x.length <= g.expected.length + MAX_PENDING + 8);
  });
  assert.ok(n > 50, `only ${n} iterations`);
});

test('fuzz: random bytes never produce an exchange', () => {
  let produced = 0;
  const n = forDuration('random', (rng) => {
    const junk = new Uint8Array(1 + rng.int(20000)).map(() => rng.int(256));
    const conn = new Http1Connection({ ...options(), sawConnectionStart: rng.next() < 0.5 });
    produced += drive(conn, interleave(rng, segment(rng, junk, 0n, true), segment(rng, junk.slice().reverse(), 0n, true))).length;
  });
  assert.equal(produced, 0);
  assert.ok(n > 50, `only ${n} iterations`);
});

test('fuzz: one packet per message through a 256-byte capture: right pairs, exact or bounded sizes', () => {
  let unseen = 0;
  let unparseable = 0;
  const n = forDuration('aligned', (rng) => {
    const g = generate(rng);
    const capture = rng.pick([192, 256, 512]);
    const conn = new Http1Connection({ ...options(), role: 'server' });
    const reqSegs = packetsAt(g.req, g.messageStarts.req, { capture });
    const resSegs = packetsAt(g.res, g.messageStarts.res, { capture });
    const x = drive(conn, interleave(rng, reqSegs, resSegs, g));
    assert.deepEqual(x.map((e) => `${e.request.method} ${e.request.target} -> ${e.response?.status}`), g.expected.map((l) => l.replace(/ \d+ -> (\d+) \d+$/, ' -> $1')));
    for (const [i, e] of x.entries()) {
      const [, reqBody, , resBody] = / (\d+) -> (\d+) (\d+)$/.exec(g.expected[i]!)!;
      const [maxReq, maxRes] = g.maxBodies[i]!;
      assert.ok(e.request.bodySize >= Number(reqBody) && e.request.bodySize <= maxReq, `request body ${e.request.bodySize} vs ${g.expected[i]} (max ${maxReq})`);
      assert.ok(e.response!.bodySize >= Number(resBody) && e.response!.bodySize <= maxRes, `response body ${e.response!.bodySize} vs ${g.expected[i]} (max ${maxRes})`);
    }
    assert.equal(conn.stats.resyncs + conn.stats.malformed, 0);
    unseen += conn.stats.unseenBytes;
    unparseable += conn.stats.unparseable;
  });
  assert.ok(n > 50, `only ${n} iterations`);
  assert.ok(unseen > 0 && unparseable > 0, 'the cases exercised holes over bodies and lost chunk framing');
});
