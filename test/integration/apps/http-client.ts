// A Node HTTP client for the integration tests, run as a child process:
//   node http-client.js concurrent N URL   N requests at once, each on its own connection
//   node http-client.js keepalive N URL    N requests one after another on one keep-alive connection
//   node http-client.js pipeline HOST PORT two requests written at once on one raw connection
//   node http-client.js preopen HOST PORT  opens a connection, prints "connected", sends a GET
//                                          on SIGUSR2, prints "status NNN"
// Prints "done" when finished; exits non-zero on any failure.
import { Agent, get } from 'node:http';
import { connect } from 'node:net';

const [mode, a, b] = process.argv.slice(2);

function fetchOnce(url: string, agent: Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

async function main(): Promise<void> {
  if (mode === 'concurrent') {
    const statuses = await Promise.all(Array.from({ length: Number(a) }, () => fetchOnce(b!, false)));
    if (statuses.some((s) => s !== 200)) throw new Error(`statuses ${statuses.join(',')}`);
  } else if (mode === 'keepalive') {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < Number(a); i++) await fetchOnce(`${b}?i=${i}`, agent);
    agent.destroy();
  } else if (mode === 'pipeline' || mode === 'preopen') {
    const sock = connect(Number(b), a!);
    await new Promise((r) => sock.once('connect', r));
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
    const req = (path: string) => `GET ${path} HTTP/1.1\r\nHost: ${a}:${b}\r\nUser-Agent: sonde-pipeline\r\n\r\n`;
    if (mode === 'pipeline') {
      sock.write(req('/pipelined/1') + req('/pipelined/2') + req('/pipelined/3'));
    } else {
      console.log('connected');
      await new Promise((r) => process.once('SIGUSR2', r));
      sock.write(req('/preopened'));
    }
    const want = mode === 'pipeline' ? 3 : 1;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(got)}`)), 5000);
      sock.on('data', () => {
        if ((got.match(/HTTP\/1\.1 \d{3}/g) ?? []).length >= want && got.endsWith('ok\n')) { clearTimeout(timer); resolve(); }
      });
    });
    console.log(`status ${/HTTP\/1\.1 (\d{3})/.exec(got)![1]}`);
    sock.end();
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  console.log('done');
}

main().catch((err) => { console.error(err); process.exit(1); });
