// Strict recognition of HTTP/1.x start lines on raw bytes. This is what keeps non-HTTP traffic
// (TLS, Redis, binary protocols, bodies seen mid-stream) from being mis-parsed: a request line must
// be `METHOD SP target SP HTTP/1.0|1.1 CRLF` with an upper-case method token and a target without
// controls or spaces; a status line must be `HTTP/1.0|1.1 SP 3DIGIT (SP reason)? CRLF`.

export const CR = 13;
export const LF = 10;
const SP = 32;
const HTAB = 9;

/** Result of scanning bytes that may or may not hold a whole start line. */
export const LineScan = {
  /** Not a start line (or not the expected kind). */
  Invalid: 0,
  /** A complete, valid start line ending with LF. */
  Complete: 1,
  /** Valid so far, but the bytes end before the line does. */
  Prefix: 2,
  /** Like Prefix, and far enough to be confident (known method + SP, or `HTTP/1.x SP 3DIGIT`). */
  ConfidentPrefix: 3,
} as const;
export type LineScan = (typeof LineScan)[keyof typeof LineScan];

const METHOD_CHAR = new Uint8Array(256);
const TARGET_CHAR = new Uint8Array(256);
for (let c = 0x41; c <= 0x5a; c++) METHOD_CHAR[c] = 1; // A-Z
METHOD_CHAR[0x2d] = 1; // '-'
METHOD_CHAR[0x5f] = 1; // '_'
for (let c = 0x21; c <= 0x7e; c++) TARGET_CHAR[c] = 1; // visible ASCII
for (let c = 0x80; c <= 0xff; c++) TARGET_CHAR[c] = 1; // some clients send raw UTF-8

const MAX_METHOD_LENGTH = 24;

/** Registered methods, interned so the hot path never decodes them. */
const KNOWN_METHODS = [
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'QUERY', 'PURGE',
];
const METHODS_BY_LENGTH: string[][] = [];
for (const m of KNOWN_METHODS) (METHODS_BY_LENGTH[m.length] ??= []).push(m);

/** The interned known method spelled by b[s, e), or undefined. */
export function knownMethod(b: Uint8Array, s: number, e: number): string | undefined {
  const candidates = METHODS_BY_LENGTH[e - s];
  if (candidates === undefined) return undefined;
  outer: for (const m of candidates) {
    for (let i = 0; i < m.length; i++) if (b[s + i] !== m.charCodeAt(i)) continue outer;
    return m;
  }
  return undefined;
}

// "HTTP/1."
const HTTP1_PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e];

/** Matches `HTTP/1.0` or `HTTP/1.1` at b[i]; returns the index after it, -2 when the bytes end first (valid so far), -1 when invalid. */
function scanVersion(b: Uint8Array, i: number, e: number): number {
  for (let k = 0; k < HTTP1_PREFIX.length; k++, i++) {
    if (i >= e) return -2;
    if (b[i] !== HTTP1_PREFIX[k]) return -1;
  }
  if (i >= e) return -2;
  return b[i] === 0x30 || b[i] === 0x31 ? i + 1 : -1;
}

/** Expects CRLF or LF at b[i]; returns the index after LF, -2 when the bytes end first, -1 when invalid. */
function scanLineEnd(b: Uint8Array, i: number, e: number): number {
  if (i >= e) return -2;
  if (b[i] === CR) {
    if (i + 1 >= e) return -2;
    return b[i + 1] === LF ? i + 2 : -1;
  }
  return b[i] === LF ? i + 1 : -1;
}

/** Scans b[s, e) for a request line. */
export function scanRequestLine(b: Uint8Array, s: number, e: number): LineScan {
  let i = s;
  while (i < e && METHOD_CHAR[b[i]!] === 1) {
    if (++i - s > MAX_METHOD_LENGTH) return LineScan.Invalid;
  }
  if (i >= e) return LineScan.Prefix;
  if (b[i] !== SP || i === s) return LineScan.Invalid;
  const known = knownMethod(b, s, i) !== undefined;
  const targetStart = ++i;
  while (i < e && TARGET_CHAR[b[i]!] === 1) i++;
  if (i >= e) return known && i > targetStart ? LineScan.ConfidentPrefix : LineScan.Prefix;
  if (b[i] !== SP || i === targetStart) return LineScan.Invalid;
  const afterVersion = scanVersion(b, i + 1, e);
  if (afterVersion === -1) return LineScan.Invalid;
  if (afterVersion === -2) return known ? LineScan.ConfidentPrefix : LineScan.Prefix;
  const end = scanLineEnd(b, afterVersion, e);
  if (end === -1) return LineScan.Invalid;
  if (end === -2) return known ? LineScan.ConfidentPrefix : LineScan.Prefix;
  return LineScan.Complete;
}

/** Scans b[s, e) for a status line. */
export function scanStatusLine(b: Uint8Array, s: number, e: number): LineScan {
  let i = scanVersion(b, s, e);
  if (i === -1) return LineScan.Invalid;
  if (i === -2) return LineScan.Prefix;
  if (i >= e) return LineScan.Prefix;
  if (b[i++] !== SP) return LineScan.Invalid;
  for (let k = 0; k < 3; k++, i++) {
    if (i >= e) return LineScan.Prefix;
    const d = b[i]!;
    if (d < 0x30 || d > 0x39 || (k === 0 && (d < 0x31 || d > 0x35))) return LineScan.Invalid;
  }
  if (i >= e) return LineScan.ConfidentPrefix;
  if (b[i] === SP) {
    i++;
    // reason-phrase: HTAB / SP / VCHAR / obs-text
    while (i < e) {
      const c = b[i]!;
      if (c === CR || c === LF) break;
      if (c < 0x20 && c !== HTAB) return LineScan.Invalid;
      if (c === 0x7f) return LineScan.Invalid;
      i++;
    }
  }
  const end = scanLineEnd(b, i, e);
  if (end === -1) return LineScan.Invalid;
  return end === -2 ? LineScan.ConfidentPrefix : LineScan.Complete;
}

/**
 * Cheap protocol detection on the first bytes of a direction: 'request' when they start with a
 * valid request line (or a confident prefix of one), 'response' for a status line, else undefined.
 */
export function detectHttp1(bytes: Uint8Array): 'request' | 'response' | undefined {
  const e = bytes.length;
  if (e === 0) return undefined;
  if (bytes[0] === 0x48 /* H */) {
    const r = scanStatusLine(bytes, 0, e);
    if (r === LineScan.Complete || r === LineScan.ConfidentPrefix) return 'response';
  }
  const q = scanRequestLine(bytes, 0, e);
  return q === LineScan.Complete || q === LineScan.ConfidentPrefix ? 'request' : undefined;
}
