// Byte helpers shared by the protocol parsers (pure: no I/O, no imports).

const utf8 = new TextDecoder('utf-8');

/** Decodes b[s, e) as UTF-8; invalid bytes become U+FFFD. (Measured no slower than a String.fromCharCode loop on header-sized ASCII.) */
export function decodeText(b: Uint8Array, s: number, e: number): string {
  return utf8.decode(b.subarray(s, e));
}

/** Index of the first `byte` in b[s, e), or -1. */
export function indexOfByte(b: Uint8Array, byte: number, s: number, e: number): number {
  const i = b.indexOf(byte, s);
  return i >= 0 && i < e ? i : -1;
}

/** The chunks one after another in a new array; `size` is their total length, computed when not given. */
export function concatBytes(chunks: readonly Uint8Array[], size = chunks.reduce((n, c) => n + c.length, 0)): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

/** The big-endian unsigned 32-bit integer at buf[at, at + 4). */
export function readUint32(buf: Uint8Array, at: number): number {
  return buf[at]! * 0x1000000 + ((buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!);
}
