// A Node `http2` cleartext server (h2c, prior knowledge) for the integration tests (child
// process). Prints "listening PORT". /status/NNN answers NNN; anything else "ok".
import { createServer } from 'node:http2';

const server = createServer((req, res) => {
  const status = /^\/status\/(\d{3})$/.exec(req.url);
  res.writeHead(status ? Number(status[1]) : 200, { 'content-type': 'text/plain' });
  res.end(status ? `status ${status[1]}\n` : 'ok\n');
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as { port: number }).port}`));
