// A @grpc/grpc-js server for the integration tests (child process), with no generated code:
// service sonde.test.Echo with raw-bytes messages. Prints "listening PORT".
//   Echo: returns the request; Fail: NOT_FOUND; Boom: INTERNAL; Slow: answers after 500 ms;
//   Stream: server streaming, three messages.
import * as grpc from '@grpc/grpc-js';

const raw = (b: Buffer) => b;
const method = (name: string, responseStream = false) => ({
  path: `/sonde.test.Echo/${name}`, requestStream: false, responseStream,
  requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw,
});
const service: grpc.ServiceDefinition = {
  Echo: method('Echo'), Fail: method('Fail'), Boom: method('Boom'), Slow: method('Slow'), Stream: method('Stream', true),
};
type Unary = grpc.ServerUnaryCall<Buffer, Buffer>;
type Cb = grpc.sendUnaryData<Buffer>;
const impl: grpc.UntypedServiceImplementation = {
  Echo: (call: Unary, cb: Cb) => cb(null, call.request),
  Fail: (_call: Unary, cb: Cb) => cb({ code: grpc.status.NOT_FOUND, details: 'no such order' }),
  Boom: (_call: Unary, cb: Cb) => cb({ code: grpc.status.INTERNAL, details: 'it broke' }),
  Slow: (call: Unary, cb: Cb) => { setTimeout(() => cb(null, call.request), 500); },
  Stream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
    for (let i = 0; i < 3; i++) call.write(Buffer.from(`part ${i}`));
    call.end();
  },
};

const server = new grpc.Server();
server.addService(service, impl);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) { console.error(err); process.exit(1); }
  console.log(`listening ${port}`);
});
