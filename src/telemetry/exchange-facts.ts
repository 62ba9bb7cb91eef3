// What spans and metrics both need to know about one exchange, derived once: the normalised
// method, path, server address and port, status and error classification per the OpenTelemetry
// semantic conventions (HTTP and RPC).
import { StatusCode } from '../collector/pdata/model.js';
import type { Exchange, HeaderList } from '../protocols/exchange.js';
import { stripQuery } from './routes.js';

/** Where an exchange was seen: supplied by the capture layer for each exchange. */
export interface ExchangeOrigin {
  /** server: the process accepted the connection; client: it connected out. */
  role: 'server' | 'client';
  pid: number;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  family?: 4 | 6;
  /** True when the bytes came from a TLS library hook (plaintext seen inside the process). */
  tls?: boolean;
}

export function headerValue(headers: HeaderList, name: string): string | undefined {
  for (const [n, v] of headers) if (n === name) return v;
  return undefined;
}

/** The HTTP methods the semantic conventions know; anything else is reported as `_OTHER`. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

export interface Authority { host: string; port: number | undefined }

/** Parses a Host / :authority value: `example.com`, `example.com:8080`, `[::1]:80`, `10.0.0.1`. */
export function parseAuthority(value: string): Authority | undefined {
  const v = value.trim();
  if (v.length === 0) return undefined;
  let host: string;
  let portText: string | undefined;
  if (v.startsWith('[')) {
    const close = v.indexOf(']');
    if (close < 0) return undefined;
    host = v.slice(1, close);
    const rest = v.slice(close + 1);
    if (rest.startsWith(':')) portText = rest.slice(1);
    else if (rest.length > 0) return undefined;
  } else {
    const colon = v.lastIndexOf(':');
    // More than one ':' without brackets is a bare IPv6 address (not valid in Host, but seen).
    if (colon >= 0 && v.indexOf(':') === colon) {
      host = v.slice(0, colon);
      portText = v.slice(colon + 1);
    } else {
      host = v;
    }
  }
  if (host.length === 0) return undefined;
  let port: number | undefined;
  if (portText !== undefined && portText.length > 0) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 0 && port <= 65535)) return undefined;
  }
  return { host: host.toLowerCase(), port };
}

const DEFAULT_PORT: Record<string, number> = { http: 80, https: 443 };

export interface ForwardedElement { for?: string; host?: string; proto?: string }

/** The first element of an RFC 7239 `Forwarded` header (the one the original client's proxy added). */
export function parseForwarded(value: string): ForwardedElement {
  const out: ForwardedElement = {};
  for (const pair of value.split(',', 1)[0]!.split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq).trim().toLowerCase();
    let v = pair.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    if (v.length === 0) continue;
    if (key === 'for') {
      // `192.0.2.60`, `192.0.2.60:4711`, `[2001:db8::17]:4711`, or an obfuscated `_hidden` / `unknown`.
      if (v.startsWith('[')) v = v.slice(1, Math.max(1, v.indexOf(']')));
      else if (v.indexOf(':') === v.lastIndexOf(':') && v.includes(':')) v = v.slice(0, v.indexOf(':'));
      out.for = v;
    } else if (key === 'host') out.host = v;
    else if (key === 'proto') out.proto = v.toLowerCase();
  }
  return out;
}

const firstListItem = (v: string | undefined) => {
  const first = v?.split(',', 1)[0]!.trim();
  return first ? first : undefined;
};

/**
 * Request details a server learns from proxies in front of it (semantic conventions' order):
 * `Forwarded`, then `X-Forwarded-For` / `-Host` / `-Proto`. Client spans do not use them: there the
 * headers describe what the process sends, not who it is.
 */
interface ProxyView { clientAddress?: string; host?: string; proto?: string }

function proxyView(headers: HeaderList): ProxyView {
  const forwardedHeader = headerValue(headers, 'forwarded');
  const fwd = forwardedHeader ? parseForwarded(forwardedHeader) : {};
  return {
    clientAddress: fwd.for ?? firstListItem(headerValue(headers, 'x-forwarded-for')),
    host: fwd.host ?? firstListItem(headerValue(headers, 'x-forwarded-host')),
    proto: fwd.proto ?? firstListItem(headerValue(headers, 'x-forwarded-proto'))?.toLowerCase(),
  };
}

const NO_PROXY: ProxyView = {};

export interface HttpFacts {
  /** `GET`…, or `_OTHER`. */
  method: string;
  /** The method as sent, when it was not a known one. */
  methodOriginal: string | undefined;
  /** Request path without query or fragment ('' for authority-form CONNECT targets). */
  path: string;
  scheme: 'http' | 'https';
  /** Server spans: the original client (Forwarded / X-Forwarded-For, else the TCP peer). */
  clientAddress: string | undefined;
  /** `1.0`, `1.1`, `2`. */
  protocolVersion: string;
  serverAddress: string;
  serverPort: number;
  /** The Host / :authority as written, or the address:port the connection went to (client url.full). */
  authority: string;
  status: number | undefined;
  spanStatus: StatusCode;
  errorType: string | undefined;
  userAgent: string | undefined;
}

function protocolVersionOf(version: string): string {
  if (version.startsWith('HTTP/')) return version.slice(5);
  return version;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function describeHttp(exchange: Exchange, origin: ExchangeOrigin): HttpFacts {
  const req = exchange.request;
  const isServer = origin.role === 'server';
  const proxy = isServer ? proxyView(req.headers) : NO_PROXY;
  const scheme = proxy.proto === 'https' || proxy.proto === 'http' ? proxy.proto : origin.tls ? 'https' : 'http';
  const rawMethod = req.method;
  const known = KNOWN_METHODS.has(rawMethod);

  // origin-form `/p?q`, absolute-form `http://h:p/p?q` (proxies), authority-form `h:p` (CONNECT), `*`.
  let target = req.target;
  let authorityText = proxy.host ?? headerValue(req.headers, ':authority') ?? headerValue(req.headers, 'host');
  const schemeSep = target.indexOf('://');
  if (schemeSep > 0 && !target.startsWith('/')) {
    const afterScheme = target.slice(schemeSep + 3);
    const slash = afterScheme.search(/[/?#]/);
    authorityText ??= slash < 0 ? afterScheme : afterScheme.slice(0, slash);
    target = slash < 0 ? '/' : afterScheme.slice(slash);
    if (!target.startsWith('/')) target = '/' + target;
  } else if (rawMethod === 'CONNECT' && !target.startsWith('/')) {
    authorityText ??= target;
    target = '';
  }
  const path = stripQuery(target);

  const authority = authorityText !== undefined ? parseAuthority(authorityText) : undefined;
  const peerHost = isServer ? origin.localAddress : origin.remoteAddress;
  const peerPort = isServer ? origin.localPort : origin.remotePort;
  const serverAddress = authority?.host ?? peerHost;
  const serverPort = authority?.port ?? peerPort;
  let authorityOut: string;
  if (authority) authorityOut = authorityText!.trim().toLowerCase();
  else authorityOut = peerPort === DEFAULT_PORT[scheme] ? (peerHost.includes(':') ? `[${peerHost}]` : peerHost) : hostPort(peerHost, peerPort);

  const status = exchange.response?.status;
  let spanStatus = StatusCode.UNSET;
  let errorType: string | undefined;
  if (status === undefined) {
    spanStatus = StatusCode.ERROR;
    errorType = exchange.error ?? '_OTHER';
  } else if (status >= 500 || (!isServer && status >= 400) || status < 100 || status > 599) {
    spanStatus = StatusCode.ERROR;
    errorType = String(status);
  }

  return {
    method: known ? rawMethod : '_OTHER',
    methodOriginal: known ? undefined : rawMethod,
    path,
    scheme,
    clientAddress: isServer ? proxy.clientAddress ?? origin.remoteAddress : undefined,
    protocolVersion: protocolVersionOf(req.version),
    serverAddress,
    serverPort,
    authority: authorityOut,
    status,
    spanStatus,
    errorType,
    userAgent: headerValue(req.headers, 'user-agent'),
  };
}

// ── gRPC ────────────────────────────────────────────────────────────────────────────────────────
export const GRPC_STATUS_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND',
  'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'] as const;

/** Codes that mark a SERVER span as an error (semantic conventions for gRPC); clients: any non-OK. */
const GRPC_SERVER_ERRORS = new Set([2, 4, 12, 13, 14, 15]);

/** gRPC's HTTP-to-gRPC status mapping, for responses without grpc-status (e.g. a proxy's 503). */
function grpcStatusFromHttp(status: number): number {
  switch (status) {
    case 400: return 13;
    case 401: return 16;
    case 403: return 7;
    case 404: return 12;
    case 429: case 502: case 503: case 504: return 14;
    default: return 2;
  }
}

export interface GrpcFacts {
  /** `package.Service/Method` (the :path without its leading '/'). */
  fullMethod: string;
  service: string | undefined;
  method: string | undefined;
  /** undefined when no status was seen (no trailers, connection lost). */
  grpcStatus: number | undefined;
  serverAddress: string;
  serverPort: number;
  /** Server spans: the original client (Forwarded / X-Forwarded-For, else the TCP peer). */
  clientAddress: string | undefined;
  spanStatus: StatusCode;
  errorType: string | undefined;
  statusMessage: string;
}

const MAX_STATUS_MESSAGE = 256;

export function describeGrpc(exchange: Exchange, origin: ExchangeOrigin): GrpcFacts {
  const req = exchange.request;
  const isServer = origin.role === 'server';
  const path = stripQuery(req.target);
  const fullMethod = path.startsWith('/') ? path.slice(1) : path;
  const slash = fullMethod.lastIndexOf('/');
  const service = slash > 0 ? fullMethod.slice(0, slash) : undefined;
  const method = slash > 0 && slash < fullMethod.length - 1 ? fullMethod.slice(slash + 1) : undefined;

  const res = exchange.response;
  let grpcStatus = res?.grpcStatus;
  if (grpcStatus === undefined) {
    if (exchange.error === 'cancelled') grpcStatus = 1; // RST_STREAM(CANCEL) is CANCELLED
    else if (res && res.status !== 200) grpcStatus = grpcStatusFromHttp(res.status);
  }

  let spanStatus = StatusCode.UNSET;
  let errorType: string | undefined;
  if (grpcStatus === undefined) {
    if (exchange.error !== undefined || !res) {
      spanStatus = StatusCode.ERROR;
      errorType = exchange.error ?? '_OTHER';
    }
  } else if (isServer ? GRPC_SERVER_ERRORS.has(grpcStatus) : grpcStatus !== 0) {
    spanStatus = StatusCode.ERROR;
    errorType = GRPC_STATUS_NAMES[grpcStatus] ?? String(grpcStatus);
  }

  const authority = parseAuthority(headerValue(req.headers, ':authority') ?? headerValue(req.headers, 'host') ?? '');
  const serverAddress = authority?.host ?? (isServer ? origin.localAddress : origin.remoteAddress);
  const serverPort = authority?.port ?? (isServer ? origin.localPort : origin.remotePort);
  const statusMessage = spanStatus === StatusCode.ERROR ? (res?.grpcMessage ?? '').slice(0, MAX_STATUS_MESSAGE) : '';
  const clientAddress = isServer ? proxyView(req.headers).clientAddress ?? origin.remoteAddress : undefined;
  return { fullMethod, service, method, grpcStatus, serverAddress, serverPort, clientAddress, spanStatus, errorType, statusMessage };
}

/** Duration of an exchange in ns: request's first byte to response's last byte (or request end without response). */
export function exchangeDurationNs(exchange: Exchange): bigint {
  const end = exchange.response?.endNs ?? exchange.request.endNs;
  const d = end - exchange.request.startNs;
  return d > 0n ? d : 0n;
}

const OTLP_HTTP_PATHS = new Set(['/v1/traces', '/v1/metrics', '/v1/logs']);
const OTLP_GRPC_EXPORT = /^\/opentelemetry\.proto\.collector\.(?:trace|metrics|logs|profiles)\.v1(?:development)?\.\w+Service\/Export$/;

/** True for an OTLP export request (HTTP `POST /v1/{traces,metrics,logs}` or the gRPC Export methods). */
export function isOtlpExport(exchange: Exchange): boolean {
  const path = stripQuery(exchange.request.target);
  if (exchange.protocol === 'grpc') return OTLP_GRPC_EXPORT.test(path);
  return exchange.request.method === 'POST' && OTLP_HTTP_PATHS.has(path);
}
