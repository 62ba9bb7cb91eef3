// Feeds a conversation recorded by test/helpers/recording-proxy.ts to the HTTP/2 parser.
import type { CapturedSegment } from '../../../src/protocols/segment.js';
import { Http2Connection, type Http2ConnectionOptions } from '../../../src/protocols/http2/index.js';
import type { Exchange } from '../../../src/protocols/exchange.js';
import type { RecordedChunk } from '../../helpers/recording-proxy.js';

/**
 * Replays recorded chunks into a parser as the server process would see them, each chunk cut into
 * random segments (`rnd` decides), in recorded order. `dropFirst` bytes of each direction are not
 * delivered (a mid-stream join).
 */
export function replay(chunks: RecordedChunk[], rnd: () => number, options: Http2ConnectionOptions = { role: 'server' },
  dropFirst = { ingress: 0, egress: 0 }): { exchanges: Exchange[]; conn: Http2Connection } {
  const conn = new Http2Connection(options);
  const offsets = { ingress: 0, egress: 0 };
  const exchanges: Exchange[] = [];
  let lastTs = 0n;
  for (const c of chunks) {
    let at = 0;
    while (at < c.bytes.length) {
      const n = 1 + Math.floor(rnd() * Math.min(c.bytes.length - at, rnd() < 0.5 ? 7 : 3000));
      const start = offsets[c.dir];
      const end = start + n;
      offsets[c.dir] = end;
      const skip = Math.max(0, dropFirst[c.dir] - start);
      if (skip < n) {
        const head = c.bytes.slice(at + skip, at + n);
        const seg: CapturedSegment = { offset: start + skip - dropFirst[c.dir], length: n - skip, head, tail: new Uint8Array(0), timestampNs: c.ts };
        exchanges.push(...conn.push(c.dir, seg));
      }
      at += n;
    }
    lastTs = c.ts;
  }
  exchanges.push(...conn.close(lastTs + 1n));
  return { exchanges, conn };
}
