// A TCP proxy on 127.0.0.1 that records the bytes of both directions of every connection as they
// are read from the sockets, in order, with a monotonic timestamp: real traffic for the protocol
// parsers, without eBPF.
import net from 'node:net';
import type { CapturedSegment, Direction } from '../../src/protocols/segment.js';
import { packetAt } from './segments.js';

export interface RecordedChunk {
  /** 'ingress' = client → server, as seen by the server process. */
  dir: Direction;
  bytes: Uint8Array;
  ts: bigint;
}

export interface RecordedConnection {
  /** Both directions, in the order the proxy read them. */
  chunks: RecordedChunk[];
  /** Resolves once both the client and the upstream socket have closed. */
  closed: Promise<void>;
}

export interface RecordingProxy {
  port: number;
  connections: RecordedConnection[];
  /** Destroys the connections still open and stops listening. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (ephemeral port) and forwards every connection to 127.0.0.1:targetPort. */
export async function startRecordingProxy(targetPort: number): Promise<RecordingProxy> {
  const connections: RecordedConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const chunks: RecordedChunk[] = [];
    let resolveClosed!: () => void;
    connections.push({ chunks, closed: new Promise((r) => (resolveClosed = r)) });
    let open = 2;
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => { sockets.delete(s); if (--open === 0) resolveClosed(); });
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    const forward = (dir: Direction, from: net.Socket, to: net.Socket) => {
      from.on('data', (b: Buffer) => { chunks.push({ dir, bytes: Uint8Array.from(b), ts: process.hrtime.bigint() }); to.write(b); });
      from.on('end', () => to.end());
    };
    forward('ingress', client, upstream);
    forward('egress', upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

/** What the kernel capture would deliver for a recording: each chunk one packet with a `capture`-byte head (and a short tail), in recorded order. */
export function captured(chunks: RecordedChunk[], capture: number): Array<[Direction, CapturedSegment]> {
  const offsets = { ingress: 0, egress: 0 };
  return chunks.map(({ dir, bytes, ts }) => {
    const seg = packetAt(bytes, offsets[dir], ts, capture);
    offsets[dir] += bytes.length;
    return [dir, seg];
  });
}
