// One way for the benches' in-process HTTP endpoints (OTLP sinks) to start listening: on a free
// loopback port, with a message that names the endpoint when it cannot.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on 127.0.0.1 (a free port); resolves with the port. */
export async function listenOnLoopback(server: Server, what: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`${what}: cannot listen on 127.0.0.1: ${err.message}`)));
    server.listen(0, '127.0.0.1', resolve);
  });
  return (server.address() as AddressInfo).port;
}
