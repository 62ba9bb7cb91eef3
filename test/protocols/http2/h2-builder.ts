// Test-side HTTP/2 writer: a small HPACK encoder (static index, literals with or without
// indexing, optional Huffman) and frame builders, to craft conversations the parser must read.
import { HUFFMAN_CODES, HUFFMAN_CODE_LENGTHS } from '../../../src/protocols/hpack/huffman.js';
import { STATIC_TABLE } from '../../../src/protocols/hpack/static-table.js';
import { concatBytes } from '../../../src/protocols/bytes.js';

export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

export function huffmanEncode(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  let acc = 0n;
  let bits = 0n;
  for (const b of bytes) {
    acc = (acc << BigInt(HUFFMAN_CODE_LENGTHS[b]!)) | BigInt(HUFFMAN_CODES[b]!);
    bits += BigInt(HUFFMAN_CODE_LENGTHS[b]!);
    while (bits >= 8n) { bits -= 8n; out.push(Number((acc >> bits) & 0xffn)); }
  }
  if (bits > 0n) out.push(Number(((acc << (8n - bits)) | ((1n << (8n - bits)) - 1n)) & 0xffn));
  return Uint8Array.from(out);
}

function int(value: number, prefixBits: number, firstByteFlags: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByteFlags | value];
  const out = [firstByteFlags | max];
  value -= max;
  while (value >= 128) { out.push((value % 128) | 0x80); value = Math.floor(value / 128); }
  out.push(value);
  return out;
}

function str(s: string, huffman: boolean): number[] {
  const raw = new TextEncoder().encode(s);
  const data = huffman ? huffmanEncode(raw) : raw;
  return [...int(data.length, 7, huffman ? 0x80 : 0), ...data];
}

export type FieldMode = 'incremental' | 'without' | 'never';

/** Encoder with its own dynamic table so incremental fields are re-sent as indexes. */
export class TestHpackEncoder {
  private dynamic: Array<[string, string]> = [];
  private size = 0;
  constructor(public maxSize = 4096, private huffman = true) {}

  encode(fields: Array<[string, string]>, mode: FieldMode = 'incremental', sizeUpdate?: number): Uint8Array {
    const out: number[] = [];
    if (sizeUpdate !== undefined) { out.push(...int(sizeUpdate, 5, 0x20)); this.maxSize = sizeUpdate; this.evict(); }
    for (const [name, value] of fields) {
      const full = this.find(name, value, true);
      if (full) { out.push(...int(full, 7, 0x80)); continue; }
      const nameIdx = this.find(name, value, false) ?? 0;
      const [prefix, flags] = mode === 'incremental' ? [6, 0x40] : mode === 'never' ? [4, 0x10] : [4, 0];
      out.push(...int(nameIdx, prefix, flags));
      if (nameIdx === 0) out.push(...str(name, this.huffman));
      out.push(...str(value, this.huffman));
      if (mode === 'incremental') {
        this.dynamic.unshift([name, value]);
        this.size += name.length + value.length + 32;
        this.evict();
      }
    }
    return Uint8Array.from(out);
  }

  private find(name: string, value: string, exact: boolean): number | undefined {
    const all = [...STATIC_TABLE, ...this.dynamic];
    const i = all.findIndex(([n, v]) => n === name && (!exact || v === value));
    return i < 0 ? undefined : i + 1;
  }

  private evict(): void {
    while (this.size > this.maxSize) { const [n, v] = this.dynamic.pop()!; this.size -= n.length + v.length + 32; }
  }
}

export function frame(type: number, flags: number, streamId: number, payload: Uint8Array | number[]): Uint8Array {
  const p = payload instanceof Uint8Array ? payload : Uint8Array.from(payload);
  const out = new Uint8Array(9 + p.length);
  out[0] = (p.length >> 16) & 0xff; out[1] = (p.length >> 8) & 0xff; out[2] = p.length & 0xff;
  out[3] = type; out[4] = flags;
  new DataView(out.buffer).setUint32(5, streamId);
  out.set(p, 9);
  return out;
}

export function grpcMessage(body: Uint8Array | number[]): Uint8Array {
  const b = body instanceof Uint8Array ? body : Uint8Array.from(body);
  const out = new Uint8Array(5 + b.length);
  new DataView(out.buffer).setUint32(1, b.length);
  out.set(b, 5);
  return out;
}

export const PREFACE = new TextEncoder().encode('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export const DATA = 0, HEADERS = 1, PRIORITY = 2, RST = 3, SETTINGS = 4, PUSH = 5, PING = 6, GOAWAY = 7, WINDOW = 8, CONT = 9;
export const ES = 0x1, EH = 0x4, PADDED = 0x8, PRIO = 0x20;

/** A crafted conversation using every frame type: HTTP GET with a 404, a gRPC call with padding,
 *  priority, CONTINUATION and two messages, a cancelled upload, a server push, GOAWAY. */
export function conversation(): { client: Uint8Array; server: Uint8Array } {
  const ce = new TestHpackEncoder();
  const se = new TestHpackEncoder();
  // Encoded in wire order: the dynamic table depends on it.
  const stream1Headers = ce.encode([[':method', 'GET'], [':scheme', 'http'], [':path', '/a?x=1'], [':authority', 'localhost'], ['cookie', 'sid=1'], ['user-agent', 'test/1']]);
  const grpcHeaders = ce.encode([
    [':method', 'POST'], [':scheme', 'http'], [':path', '/helloworld.Greeter/SayHello'], [':authority', 'localhost:50051'],
    ['content-type', 'application/grpc'], ['te', 'trailers'], ['grpc-timeout', '1S'],
    ['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'], ['authorization', 'Bearer s3cret'],
  ]);
  const half = Math.floor(grpcHeaders.length / 2);
  const paddedHeaders = concatBytes([Uint8Array.of(3), Uint8Array.of(0, 0, 0, 0, 16), grpcHeaders.subarray(0, half), Uint8Array.of(0, 0, 0)]);
  const twoMessages = concatBytes([grpcMessage([1, 2, 3]), grpcMessage(new Uint8Array(300))]);
  const client = concatBytes([
    PREFACE,
    frame(SETTINGS, 0, 0, [0, 1, 0, 0, 0x10, 0, 0, 4, 0, 0, 0xff, 0xff]),
    frame(HEADERS, ES | EH, 1, stream1Headers),
    frame(HEADERS, PADDED | PRIO, 3, paddedHeaders),
    frame(CONT, EH, 3, grpcHeaders.subarray(half)),
    frame(WINDOW, 0, 0, [0, 0, 1, 0]),
    frame(DATA, PADDED, 3, concatBytes([Uint8Array.of(4), twoMessages.subarray(0, 100), new Uint8Array(4)])),
    frame(HEADERS, EH, 5, ce.encode([[':method', 'POST'], [':scheme', 'http'], [':path', '/upload'], [':authority', 'localhost']])),
    frame(PING, 0, 0, new Uint8Array(8)),
    frame(DATA, ES, 3, twoMessages.subarray(100)),
    frame(DATA, 0, 5, new Uint8Array(1000)),
    frame(PRIORITY, 0, 5, [0, 0, 0, 3, 7]),
    frame(RST, 0, 5, [0, 0, 0, 8]),
    frame(SETTINGS, 1, 0, []),
  ]);
  const server = concatBytes([
    frame(SETTINGS, 0, 0, [0, 3, 0, 0, 0, 100]),
    frame(SETTINGS, 1, 0, []),
    frame(HEADERS, EH, 3, se.encode([[':status', '200'], ['content-type', 'application/grpc'], ['grpc-encoding', 'identity']])),
    frame(PUSH, EH, 1, concatBytes([Uint8Array.of(0, 0, 0, 2), se.encode([[':method', 'GET'], [':scheme', 'http'], [':path', '/style.css'], [':authority', 'localhost']])])),
    frame(HEADERS, EH, 1, se.encode([[':status', '404'], ['content-type', 'text/plain'], ['set-cookie', 'sid=2']])),
    frame(DATA, ES, 1, new TextEncoder().encode('not found')),
    frame(HEADERS, EH, 2, se.encode([[':status', '200'], ['content-type', 'text/css']])),
    frame(DATA, ES, 2, new Uint8Array(50)),
    frame(DATA, 0, 3, grpcMessage([9, 9])),
    frame(HEADERS, ES | EH, 3, se.encode([['grpc-status', '5'], ['grpc-message', 'not%20found%3A%20%E2%9C%93']])),
    frame(GOAWAY, 0, 0, [0, 0, 0, 5, 0, 0, 0, 0]),
  ]);
  return { client, server };
}

