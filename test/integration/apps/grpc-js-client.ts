// A @grpc/grpc-js client for the integration tests (child process), no generated code:
//   node grpc-js-client.js PORT unary|fail|boom|stream|deadline|concurrent|preopen [TRACEPARENT]
// Each run opens one channel (one HTTP/2 connection). Prints "done <grpc status codes>".
// preopen: one Echo call, prints "connected", then on SIGUSR2 calls Fail and Echo on the same
// connection (for an agent started in between).
import * as grpc from '@grpc/grpc-js';

const [portText, mode, traceparent] = process.argv.slice(2);
const raw = (b: Buffer) => b;
const client = new grpc.Client(`127.0.0.1:${portText}`, grpc.credentials.createInsecure());

function unary(name: string, deadlineMs = 5000): Promise<number> {
  const md = new grpc.Metadata();
  if (traceparent) md.set('traceparent', traceparent);
  return new Promise((resolve) => {
    client.makeUnaryRequest(`/sonde.test.Echo/${name}`, raw, raw, Buffer.from('hello'), md, { deadline: Date.now() + deadlineMs },
      (err) => resolve(err ? (err as grpc.ServiceError).code : 0));
  });
}

function stream(): Promise<number> {
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest('/sonde.test.Echo/Stream', raw, raw, Buffer.from('go'), new grpc.Metadata());
    let parts = 0;
    call.on('data', () => parts++);
    call.on('error', (err: grpc.ServiceError) => resolve(err.code));
    call.on('end', () => resolve(parts === 3 ? 0 : -1));
  });
}

async function main(): Promise<void> {
  let codes: number[];
  switch (mode) {
    case 'unary': codes = [await unary('Echo')]; break;
    case 'fail': codes = [await unary('Fail')]; break;
    case 'boom': codes = [await unary('Boom')]; break;
    case 'stream': codes = [await stream()]; break;
    case 'deadline': codes = [await unary('Slow', 100)]; break;
    case 'concurrent': codes = await Promise.all(Array.from({ length: 50 }, () => unary('Echo'))); break;
    case 'preopen':
      codes = [await unary('Echo')];
      console.log('connected');
      await new Promise<void>((r) => {
        const keepAlive = setInterval(() => {}, 1000); // a signal listener alone does not keep Node running
        process.once('SIGUSR2', () => { clearInterval(keepAlive); r(); });
      });
      codes.push(await unary('Fail'), await unary('Echo'));
      break;
    default: throw new Error(`unknown mode ${mode}`);
  }
  // Let the last frames (trailers, RST_STREAM) reach the wire before the connection closes.
  await new Promise((r) => setTimeout(r, 50));
  client.close();
  console.log(`done ${[...new Set(codes)].join(',')}`);
}

main().catch((err) => { console.error(err); process.exit(1); });
