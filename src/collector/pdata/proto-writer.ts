// A protobuf writer for the export hot path, with the subset of protobufjs' Writer interface the
// OTLP encoder uses (uint32, fork/ldelim, string, ...). protobufjs' Writer records one operation
// object per field and one state object per nested message and only writes bytes in finish(): an
// 8192-span request made ~1.6 million short-lived objects, and garbage collection was half of the
// export path's CPU. This one writes bytes straight into one buffer: a nested message reserves one
// byte for its length and ldelim() moves its content when the length needs more (≥ 128 bytes),
// which costs one memmove per large message instead of an object per field.
const TWO32 = 4294967296;
const MASK32 = 0xffffffffn;

/** Hex digit values by char code (-1: not a hex digit). */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/** Strings up to this many UTF-16 units are encoded here (≤ 3 bytes each, so the length fits one byte); longer ones by Buffer. */
const SHORT_STRING = 42;

const varintSize = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);

/** Writes the varint of a non-negative integer up to 2^53 at `p` (room must exist); returns the end. */
function putVarint(b: Buffer, p: number, n: number): number {
  while (n >= 0x80) {
    b[p++] = (n & 0x7f) | 0x80;
    n = n >= TWO32 ? Math.floor(n / 128) : n >>> 7;
  }
  b[p++] = n;
  return p;
}

/** Scratch buffers above this size are not kept for the next encode. */
const KEEP_BYTES = 16 * 1024 * 1024;

export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;
  /** Start offsets of the open nested messages (their one reserved length byte). */
  private readonly open: number[] = [];

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  /** Unsigned varint of a non-negative integer up to 2^53. */
  private varint(n: number): void {
    this.ensure(10);
    this.pos = putVarint(this.buf, this.pos, n);
  }

  /** A 64-bit two's-complement varint (negative int32/int64 values take 10 bytes, as in protobuf). */
  private varint64(v: bigint): void {
    let u = BigInt.asUintN(64, v);
    this.ensure(10);
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }

  uint32(n: number): this {
    this.varint(n >>> 0);
    return this;
  }

  int32(n: number): this {
    if (n >= 0) this.varint(n);
    else this.varint64(BigInt(n | 0));
    return this;
  }

  /** int64 from a safe integer or a bigint. */
  int64(v: number | bigint): this {
    if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) this.varint(v);
    else this.varint64(typeof v === 'bigint' ? v : BigInt(Math.trunc(v)));
    return this;
  }

  uint64(n: number): this {
    this.varint(n);
    return this;
  }

  sint32(n: number): this {
    this.varint(((n << 1) ^ (n >> 31)) >>> 0);
    return this;
  }

  bool(v: boolean): this {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
    return this;
  }

  fixed32(n: number): this {
    this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = n & 0xff;
    b[p + 1] = (n >>> 8) & 0xff;
    b[p + 2] = (n >>> 16) & 0xff;
    b[p + 3] = (n >>> 24) & 0xff;
    this.pos = p + 4;
    return this;
  }

  /** fixed64 from a bigint (taken modulo 2^64). */
  fixed64(v: bigint): this {
    return this.fixed32(Number(v & MASK32)).fixed32(Number((v >> 32n) & MASK32));
  }

  double(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
    return this;
  }

  bytes(v: Uint8Array): this {
    this.varint(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return this;
  }

  /**
   * Length-delimited bytes from a hex string (trace and span ids), like Buffer.from(hex, 'hex'):
   * stops at the first pair that is not hex.
   */
  hexBytes(hex: string): this {
    this.ensure(1 + (hex.length >> 1));
    const b = this.buf;
    const start = this.pos;
    let p = start + 1;
    for (let i = 0; i + 1 < hex.length; i += 2) {
      const hi = HEX_VALUE[hex.charCodeAt(i)] ?? -1;
      const lo = HEX_VALUE[hex.charCodeAt(i + 1)] ?? -1;
      if (hi < 0 || lo < 0) break;
      b[p++] = (hi << 4) | lo;
    }
    const len = p - start - 1;
    if (len < 0x80) {
      b[start] = len;
      this.pos = p;
    } else {
      // Longer than any OTLP id: re-encode with a proper length prefix.
      const copy = Buffer.from(b.subarray(start + 1, p));
      this.pos = start;
      this.bytes(copy);
    }
    return this;
  }

  /** UTF-8 string (lone surrogates become U+FFFD, as Buffer does). */
  string(s: string): this {
    const n = s.length;
    if (n > SHORT_STRING) {
      const len = Buffer.byteLength(s, 'utf8');
      this.varint(len);
      this.ensure(len);
      this.pos += this.buf.write(s, this.pos, len, 'utf8');
      return this;
    }
    this.ensure(1 + 3 * n);
    const b = this.buf;
    const start = this.pos;
    let p = start + 1;
    for (let i = 0; i < n; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        b[p++] = c;
      } else if (c < 0x800) {
        b[p++] = 0xc0 | (c >> 6);
        b[p++] = 0x80 | (c & 0x3f);
      } else {
        if (c >= 0xd800 && c <= 0xdfff) {
          const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
          if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
            i++;
            b[p++] = 0xf0 | (c >> 18);
            b[p++] = 0x80 | ((c >> 12) & 0x3f);
            b[p++] = 0x80 | ((c >> 6) & 0x3f);
            b[p++] = 0x80 | (c & 0x3f);
            continue;
          }
          c = 0xfffd;
        }
        b[p++] = 0xe0 | (c >> 12);
        b[p++] = 0x80 | ((c >> 6) & 0x3f);
        b[p++] = 0x80 | (c & 0x3f);
      }
    }
    b[start] = p - start - 1;
    this.pos = p;
    return this;
  }

  /** Starts a nested message (after its field key); ldelim() closes it and writes its length. */
  fork(): this {
    this.ensure(1);
    this.open.push(this.pos);
    this.pos += 1;
    return this;
  }

  ldelim(): this {
    const start = this.open.pop();
    if (start === undefined) throw new Error('ProtoWriter: ldelim() without fork()');
    const len = this.pos - start - 1;
    const size = varintSize(len);
    if (size > 1) {
      this.ensure(size - 1);
      this.buf.copyWithin(start + size, start + 1, this.pos);
      this.pos += size - 1;
    }
    putVarint(this.buf, start, len);
    return this;
  }

  /** Empties the writer for the next message (also after an encode that threw half-way). */
  reset(): this {
    this.open.length = 0;
    this.pos = 0;
    if (this.buf.length > KEEP_BYTES) this.buf = Buffer.allocUnsafe(64 * 1024);
    return this;
  }

  /** The encoded bytes, copied into a buffer of their own (the writer's scratch buffer is reused). */
  finish(): Uint8Array {
    if (this.open.length > 0) throw new Error('ProtoWriter: finish() with nested messages still open');
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.reset();
    return out;
  }
}
