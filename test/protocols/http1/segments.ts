// HTTP/1-specific drivers for the parser tests: feeding segments to a connection and summarising
// exchanges. Building the segments themselves is in test/helpers/segments.ts.
import type { CapturedSegment, Direction } from '../../../src/protocols/segment.js';
import type { Exchange } from '../../../src/protocols/exchange.js';
import type { Http1Connection } from '../../../src/protocols/http1/index.js';

/** Feeds segments in order to one direction and returns every exchange produced. */
export function feed(conn: Http1Connection, dir: Direction, segs: CapturedSegment[]): Exchange[] {
  return segs.flatMap((s) => conn.push(dir, s));
}

/** Feeds (direction, segment) events in order, then closes; returns all exchanges. */
export function run(conn: Http1Connection, events: Array<[Direction, CapturedSegment]>, close = true): Exchange[] {
  const out = events.flatMap(([d, s]) => conn.push(d, s));
  if (close) out.push(...conn.close());
  return out;
}

/** Summarises an exchange to compare it in one assertion. */
export function brief(x: Exchange): string {
  const r = x.response;
  return `${x.request.method} ${x.request.target} ${x.request.bodySize} -> ${r ? `${r.status} ${r.bodySize}` : '-'}${x.error ? ` !${x.error}` : ''}`;
}
