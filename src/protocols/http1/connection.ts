// One HTTP/1.x connection: two directions of captured segments in, completed Exchanges out.
// Pairs responses with requests in order (keep-alive and pipelining), skips interim 1xx
// responses, stops at 101 Switching Protocols and CONNECT tunnels, and gives up on connections
// that do not carry HTTP/1.x so the caller can stop feeding them.

import { NO_STARTS, type Exchange, type ExchangeRequest, type ExchangeResponse, type RequestStart } from '../exchange.js';
import type { CapturedSegment, ConnectionRole, Direction } from '../segment.js';
import { DEFAULT_HEADERS_OF_INTEREST, HeaderSelector } from './head.js';
import {
  BodyDecision, Expect, Http1MessageParser, newHttp1Stats,
  type Http1Message, type Http1MessageSink, type Http1Stats,
} from './message-parser.js';

export interface Http1ConnectionOptions {
  /** Socket role; 'unknown' infers it from the first start line. Default 'unknown'. */
  role?: ConnectionRole;
  /** Largest header section buffered across segments; larger heads are treated as not captured. Default 16384. */
  maxHeaderBytes?: number;
  /** Header names (case-insensitive) kept on exchanges. Credentials are never kept. Default DEFAULT_HEADERS_OF_INTEREST. */
  headersOfInterest?: readonly string[];
  /** Requests awaiting a response (pipelining); beyond this the oldest is dropped and counted. Default 64. */
  maxPendingRequests?: number;
  /** Bytes without any HTTP/1.x message after which the connection is declared not HTTP. Default 262144. */
  maxNonHttpBytes?: number;
  /** The capture saw the connection from its first byte: if that byte does not start an HTTP/1.x message, it is not HTTP. Default false. */
  sawConnectionStart?: boolean;
}

/** `detecting`: no message seen yet; `http`: parsing; `upgraded`: left HTTP/1.x (101, CONNECT); `not-http`: gave up; `closed`. Stop feeding unless detecting/http. */
export type Http1ConnectionState = 'detecting' | 'http' | 'upgraded' | 'not-http' | 'closed';

export const HTTP1_DEFAULTS = {
  maxHeaderBytes: 16384,
  maxPendingRequests: 64,
  maxNonHttpBytes: 262144,
} as const;

const selectorCache = new WeakMap<readonly string[], HeaderSelector>();
function selectorFor(names: readonly string[]): HeaderSelector {
  let s = selectorCache.get(names);
  if (s === undefined) selectorCache.set(names, (s = new HeaderSelector(names)));
  return s;
}

export class Http1Connection implements Http1MessageSink {
  readonly stats: Http1Stats = newHttp1Stats();
  private stateValue: Http1ConnectionState = 'detecting';
  private readonly ingress: Http1MessageParser;
  private readonly egress: Http1MessageParser;
  /** Requests (heads parsed) awaiting their final response, oldest first. */
  private readonly pending: Http1Message[] = [];
  /** The request the response being parsed answers (undefined: interim or orphan response). */
  private answering: Http1Message | undefined;
  /** A response that ended before its request's body did (an early answer): emitted when the request ends. */
  private awaitingRequest: { req: Http1Message; res: Http1Message } | undefined;
  private out: Exchange[] = [];
  private started: RequestStart[] = [];
  private requestsSeen = 0;
  private upgrade: { direction: Direction; offset: number } | undefined;
  private readonly maxPendingRequests: number;
  private readonly maxNonHttpBytes: number;
  private readonly sawConnectionStart: boolean;

  constructor(options: Http1ConnectionOptions = {}) {
    const maxHeaderBytes = options.maxHeaderBytes ?? HTTP1_DEFAULTS.maxHeaderBytes;
    if (!(maxHeaderBytes >= 64)) throw new Error(`Http1Connection: maxHeaderBytes must be at least 64, got ${maxHeaderBytes}`);
    this.maxPendingRequests = Math.max(1, options.maxPendingRequests ?? HTTP1_DEFAULTS.maxPendingRequests);
    this.maxNonHttpBytes = options.maxNonHttpBytes ?? HTTP1_DEFAULTS.maxNonHttpBytes;
    this.sawConnectionStart = options.sawConnectionStart ?? false;
    const role = options.role ?? 'unknown';
    const selector = selectorFor(options.headersOfInterest ?? DEFAULT_HEADERS_OF_INTEREST);
    const inExpect = role === 'server' ? Expect.Request : role === 'client' ? Expect.Response : Expect.Either;
    const outExpect = role === 'server' ? Expect.Response : role === 'client' ? Expect.Request : Expect.Either;
    this.ingress = new Http1MessageParser(inExpect, this, selector, maxHeaderBytes, this.stats);
    this.egress = new Http1MessageParser(outExpect, this, selector, maxHeaderBytes, this.stats);
  }

  get state(): Http1ConnectionState {
    return this.stateValue;
  }

  /** The role as configured or inferred: which side of the connection this socket is. */
  get role(): ConnectionRole {
    if (this.ingress.expect === Expect.Request) return 'server';
    if (this.ingress.expect === Expect.Response) return 'client';
    return 'unknown';
  }

  /**
   * After `upgraded`: the direction of the 101 / CONNECT 2xx response and the stream offset just
   * after its head, where the new protocol starts (undefined when that head was not fully captured).
   */
  get upgradedAt(): { direction: Direction; offset: number } | undefined {
    return this.upgrade;
  }

  /** Bytes held for message heads spanning segments (bounded by 2 × maxHeaderBytes). */
  get bufferedBytes(): number {
    return this.ingress.bufferedBytes + this.egress.bufferedBytes;
  }

  /** Requests awaiting a response (bounded by maxPendingRequests). */
  get pendingRequests(): number {
    return this.pending.length;
  }

  /** Feeds one segment of one direction; returns the exchanges it completed. */
  push(direction: Direction, seg: CapturedSegment): Exchange[] {
    if (this.stateValue !== 'detecting' && this.stateValue !== 'http') return [];
    const parser = direction === 'ingress' ? this.ingress : this.egress;
    parser.push(seg);
    if (this.stateValue === 'detecting') this.checkNotHttp(parser);
    return this.drain();
  }

  /** The requests whose heads were parsed since the last call, in order (each before its Exchange is returned by push/close). */
  takeStarts(): readonly RequestStart[] {
    if (this.started.length === 0) return NO_STARTS;
    const s = this.started;
    this.started = [];
    return s;
  }

  /** The connection closed: close-delimited responses end, requests without a response become exchanges with error 'closed'. */
  close(): Exchange[] {
    if (this.stateValue !== 'detecting' && this.stateValue !== 'http') {
      this.stateValue = this.stateValue === 'not-http' ? 'not-http' : 'closed';
      return [];
    }
    // Requests first, so a response that ends at close pairs with a request whose end is known.
    const [first, second] = this.egress.expect === Expect.Request ? [this.egress, this.ingress] : [this.ingress, this.egress];
    first.finish();
    second.finish();
    if (this.awaitingRequest !== undefined) this.emitPair(this.awaitingRequest.req, this.awaitingRequest.res);
    this.awaitingRequest = undefined;
    for (const req of this.pending) this.emit(req, undefined, 'closed');
    this.pending.length = 0;
    this.stateValue = 'closed';
    return this.drain();
  }

  onHead(parser: Http1MessageParser, msg: Http1Message): BodyDecision {
    this.stateValue = 'http';
    const other = parser === this.ingress ? this.egress : this.ingress;
    if (parser.expect === Expect.Either) {
      parser.expect = msg.head.isRequest ? Expect.Request : Expect.Response;
      other.expect = msg.head.isRequest ? Expect.Response : Expect.Request;
    }
    if (msg.head.isRequest) {
      // A client that does not pipeline sends its next request only after the whole response:
      // a response whose end could not be framed ends here instead of at the next response.
      if (this.pending.length === 0 && this.answering !== undefined) other.endEstimated();
      if (this.pending.length >= this.maxPendingRequests) {
        this.pending.shift();
        this.stats.droppedRequests++;
      }
      msg.sequence = ++this.requestsSeen;
      this.pending.push(msg);
      this.started.push({ sequence: msg.sequence, headers: msg.head.headers, startNs: msg.startNs });
      return BodyDecision.FromHeaders;
    }
    const status = msg.head.status;
    if (status < 200 && status !== 101) {
      this.answering = undefined; // interim (100 Continue, 103 Early Hints): the final response follows
      return BodyDecision.None;
    }
    let req: Http1Message | undefined = this.pending[0];
    // A request that started after this response cannot be what it answers: its own request was not seen.
    if (req !== undefined && req.startNs > msg.startNs) req = undefined;
    if (req !== undefined) this.pending.shift();
    this.answering = req;
    if (status === 101 || (req?.head.method === 'CONNECT' && status < 300)) {
      if (req !== undefined) this.emit(req, msg);
      else this.stats.orphanResponses++;
      this.answering = undefined;
      this.stateValue = 'upgraded';
      if (msg.headEndOffset >= 0) this.upgrade = { direction: parser === this.ingress ? 'ingress' : 'egress', offset: msg.headEndOffset };
      other.stop();
      return BodyDecision.Stop;
    }
    if (req?.head.method === 'HEAD' || status === 204 || status === 304) return BodyDecision.None;
    return BodyDecision.FromHeaders;
  }

  onEnd(_parser: Http1MessageParser, msg: Http1Message): void {
    if (msg.head.isRequest) {
      const waiting = this.awaitingRequest;
      if (waiting !== undefined && waiting.req === msg) {
        this.awaitingRequest = undefined;
        this.emitPair(waiting.req, waiting.res);
      }
      return;
    }
    if (msg.head.status < 200) return;
    const req = this.answering;
    this.answering = undefined;
    if (req === undefined) this.stats.orphanResponses++;
    // Wait for the request's body so the exchange carries its size and end; requests on one
    // connection are sequential, so at most one exchange can wait.
    else if (!req.ended && !req.estimated) this.awaitingRequest = { req, res: msg };
    else this.emitPair(req, msg);
  }

  private emitPair(req: Http1Message, res: Http1Message): void {
    this.emit(req, res, res.truncated ? 'truncated' : req.truncated ? 'truncated' : undefined);
  }

  private checkNotHttp(parser: Http1MessageParser): void {
    const skipped = this.ingress.skippedSinceMessage + this.egress.skippedSinceMessage;
    if ((this.sawConnectionStart && parser.firstSegmentRejected) || skipped > this.maxNonHttpBytes) {
      this.stateValue = 'not-http';
      this.ingress.stop();
      this.egress.stop();
    }
  }

  private emit(req: Http1Message, res: Http1Message | undefined, error?: string): void {
    const h = req.head;
    const request: ExchangeRequest = {
      method: h.method, target: h.target, version: h.version, headers: h.headers,
      bodySize: req.bodySize, startNs: req.startNs, endNs: req.endNs,
    };
    let response: ExchangeResponse | undefined;
    if (res !== undefined) {
      response = { status: res.head.status, headers: res.head.headers, bodySize: res.bodySize, startNs: res.startNs, endNs: res.endNs };
    }
    const exchange: Exchange = { protocol: 'http1', sequence: req.sequence, request };
    if (response !== undefined) exchange.response = response;
    if (error !== undefined) exchange.error = error;
    this.stats.exchanges++;
    this.out.push(exchange);
  }

  private drain(): Exchange[] {
    if (this.out.length === 0) return [];
    const done = this.out;
    this.out = [];
    return done;
  }
}
