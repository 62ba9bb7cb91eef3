// Public surface of the HTTP/2 + gRPC parser for the capture layer.
export { Http2Connection, type Http2ConnectionOptions, type Http2ConnectionStats } from './connection.js';
export type { ConnectionRole } from '../segment.js';
export { detectHttp2Preface, looksLikeHttp2Frames, CONNECTION_PREFACE } from './frames.js';
export { parseGrpcPath, isGrpcContentType } from '../grpc/grpc.js';
