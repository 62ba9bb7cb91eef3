// gRPC over HTTP/2 (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md): what the
// HTTP/2 parser needs to turn a stream into an rpc: content type, service/method from :path,
// status and message from trailers, and the 5-byte length-prefixed messages inside DATA.
import { decodeText, readUint32 } from '../bytes.js';

export const GRPC_STATUS_CANCELLED = 1;

/** `application/grpc`, `application/grpc+proto`, `application/grpc-web`..., case-insensitive. */
export function isGrpcContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const ct = contentType.toLowerCase();
  return ct === 'application/grpc' || ct.startsWith('application/grpc+') || ct.startsWith('application/grpc;')
    || ct.startsWith('application/grpc-');
}

/** `/package.Service/Method` → { service: 'package.Service', method: 'Method' }, else undefined. */
export function parseGrpcPath(path: string): { service: string; method: string } | undefined {
  if (path.length < 4 || path.charCodeAt(0) !== 0x2f) return undefined;
  const slash = path.indexOf('/', 1);
  if (slash <= 1 || slash === path.length - 1 || path.indexOf('/', slash + 1) !== -1) return undefined;
  return { service: path.slice(1, slash), method: path.slice(slash + 1) };
}

/** `grpc-status` value → number, or undefined when not a non-negative integer. */
export function parseGrpcStatus(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,3}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/** grpc-message is percent-encoded UTF-8; malformed escapes are kept literally rather than dropped. */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && i + 2 < value.length && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      for (const b of new TextEncoder().encode(value[i]!)) bytes.push(b);
    }
  }
  return decodeText(Uint8Array.from(bytes), 0, bytes.length);
}

/**
 * Follows gRPC length-prefixed messages (1 byte compressed flag + 4 bytes big-endian length +
 * body) through one direction of one stream's DATA bytes. Bodies may be skipped (capture holes):
 * the lengths say where the next prefix starts. A hole inside a prefix loses the boundaries: from
 * then on counts are lower bounds (`exact` false).
 */
export class GrpcMessageCounter {
  messages = 0;
  /** Sum of message body lengths (without the 5-byte prefixes). */
  messageBytes = 0;
  exact = true;
  private prefix = new Uint8Array(5);
  private prefixFilled = 0;
  private bodyRemaining = 0;

  bytes(buf: Uint8Array, start: number, end: number): void {
    if (!this.exact) return;
    let i = start;
    while (i < end) {
      if (this.bodyRemaining > 0) {
        const n = Math.min(this.bodyRemaining, end - i);
        this.bodyRemaining -= n;
        i += n;
        continue;
      }
      this.prefix[this.prefixFilled++] = buf[i++]!;
      if (this.prefixFilled === 5) {
        const p = this.prefix;
        const length = readUint32(p, 1);
        this.prefixFilled = 0;
        this.messages++;
        this.messageBytes += length;
        this.bodyRemaining = length;
      }
    }
  }

  /** The bytes so far end exactly at a message boundary. */
  get atBoundary(): boolean {
    return this.prefixFilled === 0 && this.bodyRemaining === 0;
  }

  skip(n: number): void {
    if (!this.exact) return;
    if (this.prefixFilled > 0 || n > this.bodyRemaining) {
      // The hole covers (part of) a prefix: the next boundary is unknown.
      this.exact = false;
      return;
    }
    this.bodyRemaining -= n;
  }
}
