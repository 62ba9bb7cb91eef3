// HTTP/1.x parsing for captured TCP segments. See docs/http1-parser.md.
export { Http1Connection, HTTP1_DEFAULTS, type Http1ConnectionOptions, type Http1ConnectionState } from './connection.js';
export type { Http1Stats } from './message-parser.js';
export { DEFAULT_HEADERS_OF_INTEREST, NEVER_KEPT_HEADERS } from './head.js';
export { detectHttp1 } from './start-line.js';
export { splitTarget, type SplitTarget } from './target.js';
