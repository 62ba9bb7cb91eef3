// A minimal h2c server reached by HTTP/1.1 `Upgrade: h2c` (what `curl --http2` does on http://),
// for the integration tests (child process): none of the servers on this host implements the
// upgrade (Node's http2, nginx and grpcio speak prior knowledge only). It answers the upgraded
// request on stream 1 with raw HTTP/2 frames: SETTINGS, HEADERS (:status 200), DATA "ok\n".
// Prints "listening PORT".
import { createServer } from 'node:net';

const EMPTY = Buffer.alloc(0);
function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}
const SETTINGS = 4, HEADERS = 1, DATA = 0, ACK = 1, END_STREAM = 1, END_HEADERS = 4;

const server = createServer((sock) => {
  let buf = EMPTY;
  let upgraded = false;
  let acked = false;
  sock.on('error', () => {});
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      buf = buf.subarray(end + 4);
      if (!/^upgrade:\s*h2c\s*$/im.test(head)) {
        sock.end('HTTP/1.1 426 Upgrade Required\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      upgraded = true;
      sock.write(Buffer.concat([
        Buffer.from('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n', 'latin1'),
        frame(SETTINGS, 0, 0, EMPTY),
        frame(HEADERS, END_HEADERS, 1, Buffer.from([0x88])), // :status 200 (static index 8)
        frame(DATA, END_STREAM, 1, Buffer.from('ok\n')),
      ]));
    }
    // The client's preface (24 bytes) and SETTINGS frame (9 + n): acknowledge its settings once.
    if (!acked && buf.length >= 24 + 9) {
      acked = true;
      sock.write(frame(SETTINGS, ACK, 0, EMPTY));
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as { port: number }).port}`));
