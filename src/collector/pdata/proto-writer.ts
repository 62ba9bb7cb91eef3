// A protobuf writer for the export hot path, with the subset of protobufjs' Writer interface the
// OTLP encoder uses (uint32, fork/ldelim, string, ...). protobufjs' Writer records one operation
// object per field and one state object per nested message and only writes bytes in finish(): an
// 8192-span request made ~1.6 million short-lived objects, and garbage collection was half of the
// export path's CPU. This one writes bytes straight into one buffer: a nested message reserves one
// byte for its length and ldelim() moves its content when the length needs more (≥ 128 bytes),
// which costs one memmove per large message instead of an object per field.
//
// finish() hands the buffer itself to the caller (a view, no copy) when it is mostly full, so a
// request's bytes are never in a buffer the writer writes again; only a mostly-empty buffer is
// copied out of and kept as the next encode's scratch space.
const TWO32 = 4294967296;
const MASK32 = 0xffffffffn;

/** Hex digit values by char code (-1: not a hex digit). */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/**
 * Strings up to this many UTF-16 units are encoded by the loop in string(): for the short strings
 * OTLP attributes are made of it beats Buffer#utf8Write, whose native call costs more than the
 * copy (≈ 40 vs 100 ns for 5–50 characters); longer strings go to utf8Write.
 */
const JS_STRING_MAX = 512;

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
const MIN_BYTES = 64 * 1024;
const NO_BYTES = Buffer.alloc(0);

/**
 * Scratch space shared by all writers: one spare buffer (taken by the next writer created), and
 * the size of recent large messages (a slowly decaying maximum), so a new writer starts with room
 * for a typical request instead of growing by doubling (each doubling copies all written so far).
 */
const scratch: { spare: Buffer | undefined; sizeHint: number } = { spare: undefined, sizeHint: 0 };

/** A buffer of at least `need` bytes and room for a message like the last one: the spare or a new one. */
function takeScratch(need: number): Buffer {
  const want = Math.max(MIN_BYTES, need, scratch.sizeHint + (scratch.sizeHint >> 3));
  const spare = scratch.spare;
  if (spare !== undefined && spare.length >= want) {
    scratch.spare = undefined;
    return spare;
  }
  return Buffer.allocUnsafe(want);
}

/** Writes `s` as UTF-8 at `p` (room for 3 bytes per UTF-16 unit must exist); returns the end. Lone surrogates become U+FFFD. */
function putUtf8(b: Buffer, p: number, s: string): number {
  const n = s.length;
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
  return p;
}

export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;
  /** Start offsets of the open nested messages (their one reserved length byte). */
  private readonly open: number[] = [];

  /** Without `initialBytes`, starts with the shared spare buffer or one sized like the last message. */
  constructor(initialBytes?: number) {
    this.buf = initialBytes === undefined ? takeScratch(0) : Buffer.allocUnsafe(initialBytes);
  }

  private ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    // After finish() the writer has no buffer (length 0) until it writes again.
    const bigger = this.buf.length === 0 ? takeScratch(need) : Buffer.allocUnsafe(Math.max(this.buf.length * 2, need));
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

  /** Pre-encoded bytes, copied as they are (e.g. a cached field: key, length and content). */
  raw(v: Uint8Array): this {
    const n = v.length;
    this.ensure(n);
    const b = this.buf;
    const p = this.pos;
    if (n <= 64) for (let i = 0; i < n; i++) b[p + i] = v[i]!; // a native set() costs more than a short loop
    else b.set(v, p);
    this.pos = p + n;
    return this;
  }

  /**
   * One attribute with a string value — field byte `fieldKey`, then a KeyValue of the pre-encoded
   * key field and AnyValue{string_value} — in one go when its length surely fits one byte (the
   * usual short attribute), sparing two nested messages. Returns false, writing nothing, otherwise.
   */
  stringKeyValue(fieldKey: number, keyField: Uint8Array, value: string): boolean {
    const k = keyField.length;
    if (k + 5 + 3 * value.length >= 0x80) return false;
    this.ensure(0x80);
    const b = this.buf;
    const start = this.pos;
    b[start] = fieldKey;
    let p = start + 2;
    for (let i = 0; i < k; i++) b[p++] = keyField[i]!;
    b[p] = 0x12; // KeyValue.value
    b[p + 2] = 0x0a; // AnyValue.string_value
    const end = putUtf8(b, p + 4, value);
    b[p + 3] = end - p - 4;
    b[p + 1] = end - p - 2;
    b[start + 1] = end - start - 2;
    this.pos = end;
    return true;
  }

  /** UTF-8 string (lone surrogates become U+FFFD, as Buffer does), encoded in place. */
  string(s: string): this {
    const n = s.length;
    if (n > JS_STRING_MAX) {
      // Reserve the length for the worst case (3 bytes per unit), then close the gap.
      const room = varintSize(3 * n);
      this.ensure(room + 3 * n);
      const len = this.buf.write(s, this.pos + room, 'utf8');
      this.putLength(this.pos, room, len);
      return this;
    }
    this.ensure(3 + 3 * n);
    const start = this.pos;
    this.putLength(start, 1, putUtf8(this.buf, start + 1, s) - start - 1);
    return this;
  }

  /**
   * Writes the varint length `len` of content that was written `room` bytes after `start`, moving
   * the content when the varint takes a different number of bytes than reserved.
   */
  private putLength(start: number, room: number, len: number): void {
    const size = varintSize(len);
    if (size !== room) {
      this.ensure(size - room); // the content may move right (room was 1, length ≥ 128)
      this.buf.copyWithin(start + size, start + room, start + room + len);
    }
    putVarint(this.buf, start, len);
    this.pos = start + size + len;
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
    this.putLength(start, 1, this.pos - start - 1);
    return this;
  }

  /** Empties the writer for the next message (also after an encode that threw half-way). */
  reset(): this {
    this.open.length = 0;
    this.pos = 0;
    return this;
  }

  /**
   * The encoded bytes. When they fill at least half the buffer, that buffer itself (a view, no
   * copy) — the writer lets go of it and never writes it again, so it may be queued, sent and
   * retried for as long as the caller likes; otherwise a right-sized copy, and the buffer is kept
   * as scratch space for the next message.
   */
  finish(): Buffer {
    if (this.open.length > 0) throw new Error('ProtoWriter: finish() with nested messages still open');
    const len = this.pos;
    scratch.sizeHint = Math.max(len, scratch.sizeHint - (scratch.sizeHint >> 3));
    let out: Buffer;
    if (len * 2 >= this.buf.length) {
      out = this.buf.subarray(0, len);
      this.buf = NO_BYTES;
    } else {
      out = Buffer.allocUnsafe(len);
      this.buf.copy(out, 0, 0, len);
      const kept = this.buf.length;
      if (kept >= MIN_BYTES && kept <= KEEP_BYTES && (scratch.spare === undefined || scratch.spare.length < kept)) scratch.spare = this.buf;
      this.buf = NO_BYTES;
    }
    this.reset();
    return out;
  }
}
