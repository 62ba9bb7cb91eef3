// Loopback plumbing for tests and benches that start real servers: free ports, request bodies.
import type { IncomingMessage } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';

/** A TCP port that was free on `host` (a loopback address) a moment ago: bind to 0, read it, close. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, host, resolve); });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The whole body of a request a test server received (as sent: still compressed if it was). */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}
