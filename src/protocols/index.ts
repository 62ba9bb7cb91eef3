// Pure protocol parsers: bytes in, Exchange fields out. No I/O, no timers.
export type { Exchange, ExchangeRequest, ExchangeResponse, HeaderList } from './exchange.js';
export type { CapturedSegment, ConnectionRole, Direction } from './segment.js';
export * from './http1/index.js';
