// Parsing of one message head (start line + header section) from bytes, in place, with indexes.
// Only the headers of interest are decoded into strings; credentials are dropped here, at parse
// time, whatever the configuration says, so they never exist as strings in the agent.

import { decodeText, indexOfByte } from '../bytes.js';
import type { HeaderList } from '../exchange.js';
import { CR, LF, LineScan, knownMethod, scanRequestLine, scanStatusLine } from './start-line.js';

/** Headers kept on exchanges by default (lower-case). */
export const DEFAULT_HEADERS_OF_INTEREST: readonly string[] = [
  'host', 'user-agent', 'content-type', 'content-length', 'transfer-encoding', 'traceparent',
  'tracestate', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'forwarded', 'x-request-id',
];

/** Headers that are never kept, even when configured as of interest: they carry credentials. */
export const NEVER_KEPT_HEADERS: readonly string[] = [
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-auth-token',
];

/** At most this many headers are kept per message (bounded memory on hostile input). */
const MAX_KEPT_HEADERS = 32;
/** Kept header values are cut to this many bytes each... */
const MAX_HEADER_VALUE_BYTES = 1024;
/** ...and to this many bytes in total per message. */
const MAX_KEPT_HEADER_BYTES = 4096;

/** What a header means for framing, beyond being kept or not. */
const enum HeaderRole { None, ContentLength, TransferEncoding, Upgrade }

interface HeaderEntry {
  name: string;
  bytes: Uint8Array;
  keep: boolean;
  role: HeaderRole;
}

const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

const lower = (c: number) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c);

/** Case-insensitive name → entry lookup on raw bytes, bucketed by name length. */
export class HeaderSelector {
  private readonly byLength: HeaderEntry[][] = [];

  constructor(headersOfInterest: readonly string[]) {
    const never = new Set(NEVER_KEPT_HEADERS);
    const keep = new Set(headersOfInterest.map((h) => h.toLowerCase()).filter((h) => !never.has(h)));
    const roles = new Map<string, HeaderRole>([
      ['content-length', HeaderRole.ContentLength], ['transfer-encoding', HeaderRole.TransferEncoding],
      ['upgrade', HeaderRole.Upgrade],
    ]);
    for (const name of new Set([...keep, ...roles.keys()])) {
      if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name)) {
        throw new Error(`header of interest "${name}" is not a valid HTTP field name; use a token such as "x-request-id"`);
      }
      const bytes = new Uint8Array(name.length);
      for (let i = 0; i < name.length; i++) bytes[i] = name.charCodeAt(i);
      (this.byLength[name.length] ??= []).push({ name, bytes, keep: keep.has(name), role: roles.get(name) ?? HeaderRole.None });
    }
  }

  match(b: Uint8Array, s: number, e: number): HeaderEntry | undefined {
    const bucket = this.byLength[e - s];
    if (bucket === undefined) return undefined;
    outer: for (const entry of bucket) {
      const nb = entry.bytes;
      for (let i = 0; i < nb.length; i++) if (lower(b[s + i]!) !== nb[i]) continue outer;
      return entry;
    }
    return undefined;
  }
}

/** A parsed message head. */
export interface Http1Head {
  isRequest: boolean;
  /** Request method ('' for responses). */
  method: string;
  /** Request target ('' for responses); cut short when the request line itself was not fully captured. */
  target: string;
  /** `HTTP/1.0` / `HTTP/1.1`, or '' when the request line was cut before the version. */
  version: string;
  /** Response status (0 for requests). */
  status: number;
  headers: HeaderList;
  /** Content-Length, or -1 when absent. */
  contentLength: number;
  /** Transfer-Encoding's final coding is chunked. */
  chunked: boolean;
  /** Transfer-Encoding present with another final coding (request: unframeable; response: close-delimited). */
  otherTransferCoding: boolean;
  /** Content-Length invalid or conflicting: the body cannot be framed. */
  badFraming: boolean;
  /** An `Upgrade` header is present. */
  upgrade: boolean;
  /** The whole header section was seen (false: cut by a hole or the header size cap). */
  complete: boolean;
  /** Header lines that were not `name: value`; ignored. */
  invalidHeaderLines: number;
}

/** Parses a decimal Content-Length value; -1 when invalid. */
function parseLength(b: Uint8Array, s: number, e: number): number {
  if (s >= e || e - s > 15) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** True when the comma-separated list b[s, e) contains `token` (lower-case), case-insensitively. */
function listHasToken(b: Uint8Array, s: number, e: number, token: string): boolean {
  let i = s;
  while (i < e) {
    while (i < e && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x2c)) i++;
    const start = i;
    while (i < e && b[i] !== 0x2c) i++;
    let end = i;
    while (end > start && (b[end - 1] === 0x20 || b[end - 1] === 0x09)) end--;
    if (end - start === token.length) {
      let k = 0;
      while (k < token.length && lower(b[start + k]!) === token.charCodeAt(k)) k++;
      if (k === token.length) return true;
    }
  }
  return false;
}

/** True when the last coding of the Transfer-Encoding list b[s, e) is `chunked`. */
function lastCodingIsChunked(b: Uint8Array, s: number, e: number): boolean {
  let start = e;
  while (start > s && b[start - 1] !== 0x2c) start--;
  return listHasToken(b, start, e, 'chunked');
}

/**
 * Parses the head in b[s, e). When `complete`, e is just after the empty line ending the header
 * section; otherwise e is where the captured bytes stop, and only the whole lines before it are
 * used (a cut request line still yields method and the visible part of the target).
 * `expect`: 1 request, 2 response, 0 either. Returns undefined when the start line is invalid.
 */
export function parseHead(b: Uint8Array, s: number, e: number, complete: boolean, expect: number, selector: HeaderSelector): Http1Head | undefined {
  const head: Http1Head = {
    isRequest: true, method: '', target: '', version: '', status: 0, headers: [], contentLength: -1,
    chunked: false, otherTransferCoding: false, badFraming: false, upgrade: false,
    complete, invalidHeaderLines: 0,
  };
  const lf = indexOfByte(b, LF, s, e);
  const lineLimit = lf < 0 ? e : lf + 1;
  const isResponse = expect !== 1 && b[s] === 0x48 && scanStatusLine(b, s, lineLimit) !== LineScan.Invalid;
  if (isResponse) {
    if (lf < 0 && scanStatusLine(b, s, lineLimit) !== LineScan.ConfidentPrefix) return undefined;
    head.isRequest = false;
    head.version = b[s + 7] === 0x30 ? 'HTTP/1.0' : 'HTTP/1.1';
    head.status = (b[s + 9]! - 0x30) * 100 + (b[s + 10]! - 0x30) * 10 + (b[s + 11]! - 0x30);
  } else {
    if (expect === 2) return undefined;
    const scan = scanRequestLine(b, s, lineLimit);
    if (scan !== LineScan.Complete && !(lf < 0 && scan === LineScan.ConfidentPrefix)) return undefined;
    const sp1 = b.indexOf(0x20, s);
    head.method = knownMethod(b, s, sp1) ?? decodeText(b, s, sp1);
    let targetEnd = b.indexOf(0x20, sp1 + 1);
    if (targetEnd < 0 || targetEnd >= lineLimit) {
      // The request line was cut by the capture: keep the visible part of the target.
      targetEnd = lineLimit;
      while (targetEnd > sp1 + 1 && (b[targetEnd - 1] === CR || b[targetEnd - 1] === LF)) targetEnd--;
    } else if (targetEnd + 8 < lineLimit) {
      head.version = b[targetEnd + 8] === 0x30 ? 'HTTP/1.0' : 'HTTP/1.1';
    }
    head.target = decodeText(b, sp1 + 1, targetEnd);
  }
  if (lf < 0) return head;

  let ls = lf + 1;
  let keptBytes = 0;
  while (ls < e) {
    const nl = indexOfByte(b, LF, ls, e);
    if (nl < 0) break; // a header line cut by the capture: ignored
    let le = nl;
    if (le > ls && b[le - 1] === CR) le--;
    if (le === ls) break; // the empty line ending the header section
    let c = ls;
    while (c < le && TCHAR[b[c]!] === 1) c++;
    if (c === ls || c >= le || b[c] !== 0x3a /* ':' */) {
      head.invalidHeaderLines++; // includes obs-fold continuation lines, which we do not unfold
      ls = nl + 1;
      continue;
    }
    const entry = selector.match(b, ls, c);
    if (entry !== undefined) {
      let vs = c + 1;
      let ve = le;
      while (vs < ve && (b[vs] === 0x20 || b[vs] === 0x09)) vs++;
      while (ve > vs && (b[ve - 1] === 0x20 || b[ve - 1] === 0x09)) ve--;
      switch (entry.role) {
        case HeaderRole.ContentLength: {
          const n = parseLength(b, vs, ve);
          if (n < 0 || (head.contentLength >= 0 && head.contentLength !== n)) head.badFraming = true;
          else head.contentLength = n;
          break;
        }
        case HeaderRole.TransferEncoding:
          head.chunked = lastCodingIsChunked(b, vs, ve);
          head.otherTransferCoding = !head.chunked;
          break;
        case HeaderRole.Upgrade:
          head.upgrade = true;
          break;
      }
      const keepBytes = Math.min(ve - vs, MAX_HEADER_VALUE_BYTES);
      if (entry.keep && head.headers.length < MAX_KEPT_HEADERS && keptBytes + keepBytes <= MAX_KEPT_HEADER_BYTES) {
        head.headers.push([entry.name, decodeText(b, vs, vs + keepBytes)]);
        keptBytes += keepBytes;
      }
    }
    ls = nl + 1;
  }
  return head;
}
