// A Node `http` server for the integration tests, run as a child process:
//   node http-server.js [host]   → prints "listening PORT"
// Routes: /status/NNN answers NNN; /chunked streams a chunked body; /upload reads the body and
// answers its size;
// anything else answers "ok" (keep-alive).
import { createServer } from 'node:http';

const host = process.argv[2] ?? '127.0.0.1';
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const status = /^\/status\/(\d{3})$/.exec(url.pathname);
  if (status) {
    res.writeHead(Number(status[1]), { 'content-type': 'text/plain' }).end(`status ${status[1]}\n`);
    return;
  }
  if (url.pathname === '/chunked') {
    res.writeHead(200, { 'content-type': 'text/plain' }); // no content-length: chunked
    let n = 0;
    const timer = setInterval(() => {
      res.write(`chunk ${n}\n`);
      if (++n === 5) { clearInterval(timer); res.end(); }
    }, 5);
    return;
  }
  let size = 0;
  req.on('data', (d: Buffer) => (size += d.length));
  req.on('end', () => {
    if (url.pathname === '/upload') res.end(`received ${size}\n`);
    else res.end('ok\n');
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, host, () => console.log(`listening ${(server.address() as { port: number }).port}`));
