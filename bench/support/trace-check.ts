// The verdict of bench/whole-traces: given every span an agent reported for a run of chain requests
// (GET /r/<id> sent through a chain of services) and the hops each request should have produced,
// says per request whether it came out as ONE connected trace with correct parent links, and sums
// what went wrong. Pure: no I/O, no clock; the bench feeds it what its sink received.
//
// A request is whole when, among the spans whose url.path is /r/<its id>:
//   - every expected hop (service + kind) is there exactly once, and nothing else is;
//   - they all carry one trace id, and every trace and span id is well-formed (32 / 16 hex digits,
//     not all zero);
//   - each hop's parent is the previous hop's span (same span id, same trace id), and the first hop
//     is a root or has a parent outside the request's spans (e.g. a caller's sampled-out span);
//   - none of its span ids also occurs on another span anywhere in the input.
// Requests are the ids the caller sent, not the ids seen in spans, so a request that produced no
// span at all counts (every hop missing) instead of silently vanishing from the denominator.
// Spans without a /r/<id> path or with an id not sent are ignored per request, but still count in
// the span-id figures, which look at all spans.

/** OTLP span kinds by number (the proto enum), as names. */
const KIND_NAMES = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;
export type SpanKindName = (typeof KIND_NAMES)[number];

export interface CheckSpan {
  traceId: string;
  spanId: string;
  /** Empty, absent or all zeros: a root span. */
  parentSpanId?: string;
  /** A name, or the OTLP enum number (2 SERVER, 3 CLIENT). */
  kind: SpanKindName | number;
  /** The resource's service.name. */
  service: string;
  /** The url.path attribute: /r/<id> for chain requests. */
  path?: string;
  startNs: bigint | number;
  endNs: bigint | number;
}

export interface Hop {
  service: string;
  kind: 'SERVER' | 'CLIENT';
}

export type ProblemCode = 'missing-hop' | 'extra-span' | 'wrong-parent' | 'fragmented' | 'invalid-id' | 'shared-span-id';

export interface Problem {
  code: ProblemCode;
  /** `service KIND` of the hop or span concerned, when there is one. */
  hop?: string;
  detail: string;
}

export interface RequestVerdict {
  id: string;
  whole: boolean;
  problems: Problem[];
}

export interface TraceCheckResult {
  /** Requests sent (the ids given). */
  requests: number;
  /** Requests that came out as one whole trace. */
  wholeTraces: number;
  /** wholeTraces / requests in percent (0 with no requests). */
  share: number;
  /** Per request, the trace ids among its spans beyond the first, summed. */
  orphanFragments: number;
  /** Span ids carried by more than one span anywhere in the input (identical copies or not). */
  duplicateSpans: number;
  /** Of those, the ids whose spans differ: another trace id, parent, kind, service, path or time. */
  spanIdCollisions: number;
  /** Expected hops with no span, summed over requests. */
  missingHops: number;
  /**
   * Hops whose parent link is wrong, summed over requests: a hop (present once) whose parent is not
   * the previous hop's span (present once) in the same trace, or a first hop whose parent is one of
   * its own request's spans. Hops that are missing or reported more than once are not judged here
   * (they count in missingHops and extraSpans).
   */
  wrongParents: number;
  /** Spans of a request beyond one per expected hop (second copies of a hop, unexpected service or kind), summed. */
  extraSpans: number;
  /** Spans anywhere in the input with a malformed trace or span id. */
  invalidIds: number;
  verdicts: RequestVerdict[];
}

interface NormSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  kind: string;
  service: string;
  path: string | undefined;
  startNs: string;
  endNs: string;
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ALL_ZERO = /^0+$/;
const REQUEST_PATH = /^\/r\/([^/?#]+)$/;

const validId = (id: string, re: RegExp) => re.test(id) && !ALL_ZERO.test(id);

/** A span kind as a name (`SERVER`), whether given as a name or as the OTLP number. */
export function kindName(kind: CheckSpan['kind']): string {
  if (typeof kind === 'string') return kind;
  return KIND_NAMES[kind] ?? `KIND_${kind}`;
}

function normalise(s: CheckSpan): NormSpan {
  const parent = (s.parentSpanId ?? '').toLowerCase();
  return {
    traceId: s.traceId.toLowerCase(),
    spanId: s.spanId.toLowerCase(),
    parentSpanId: parent === '' || ALL_ZERO.test(parent) ? '' : parent,
    kind: kindName(s.kind),
    service: s.service,
    path: s.path,
    startNs: String(s.startNs),
    endNs: String(s.endNs),
  };
}

/** The request id in a chain path (/r/<id>), or undefined for any other path. */
export function requestIdOf(path: string | undefined): string | undefined {
  return path === undefined ? undefined : REQUEST_PATH.exec(path)?.[1];
}

const sameContent = (a: NormSpan, b: NormSpan) => a.traceId === b.traceId && a.parentSpanId === b.parentSpanId && a.kind === b.kind
  && a.service === b.service && a.path === b.path && a.startNs === b.startNs && a.endNs === b.endNs;

const label = (s: { service: string; kind: string }) => `${s.service} ${s.kind}`;

/**
 * Judges every request in `requestIds` against `hops` (each hop's parent is the hop before it).
 * Throws on a hop list that could not be judged unambiguously (empty, or one service+kind twice)
 * and on a repeated request id.
 */
export function checkTraces(spans: readonly CheckSpan[], hops: readonly Hop[], requestIds: readonly string[]): TraceCheckResult {
  if (hops.length === 0) throw new Error('checkTraces: the hop list is empty');
  const hopKeys = hops.map(label);
  const repeatedHop = hopKeys.find((k, i) => hopKeys.indexOf(k) !== i);
  if (repeatedHop !== undefined) throw new Error(`checkTraces: hop "${repeatedHop}" is listed twice; its spans could not be told apart`);
  const wanted = new Set(requestIds);
  if (wanted.size !== requestIds.length) throw new Error('checkTraces: a request id is listed twice');

  const all = spans.map(normalise);
  const bySpanId = new Map<string, NormSpan[]>();
  for (const s of all) bySpanId.set(s.spanId, [...(bySpanId.get(s.spanId) ?? []), s]);
  let duplicateSpans = 0;
  let spanIdCollisions = 0;
  const sharedIds = new Set<string>();
  for (const [spanId, copies] of bySpanId) {
    if (copies.length < 2) continue;
    duplicateSpans++;
    sharedIds.add(spanId);
    if (copies.some((c) => !sameContent(c, copies[0]!))) spanIdCollisions++;
  }
  const invalidIds = all.filter((s) => !validId(s.traceId, TRACE_ID) || !validId(s.spanId, SPAN_ID)).length;

  const byRequest = new Map<string, NormSpan[]>();
  for (const s of all) {
    const id = requestIdOf(s.path);
    if (id !== undefined && wanted.has(id)) byRequest.set(id, [...(byRequest.get(id) ?? []), s]);
  }

  const totals = { wholeTraces: 0, orphanFragments: 0, missingHops: 0, wrongParents: 0, extraSpans: 0 };
  const verdicts = requestIds.map((id): RequestVerdict => {
    const own = byRequest.get(id) ?? [];
    const problems: Problem[] = [];
    const matched = hops.map((h) => own.filter((s) => s.service === h.service && s.kind === h.kind));

    matched.forEach((m, i) => {
      if (m.length === 0) problems.push({ code: 'missing-hop', hop: hopKeys[i], detail: 'no span' });
      if (m.length > 1) problems.push({ code: 'extra-span', hop: hopKeys[i], detail: `${m.length} spans for this hop` });
    });
    for (const s of own) {
      if (!hopKeys.includes(label(s))) problems.push({ code: 'extra-span', hop: label(s), detail: 'a span of no expected hop' });
    }
    totals.missingHops += matched.filter((m) => m.length === 0).length;
    totals.extraSpans += own.length - matched.filter((m) => m.length > 0).length;

    const first = matched[0]!;
    const ownSpanIds = new Set(own.map((s) => s.spanId));
    if (first.length === 1 && first[0]!.parentSpanId !== '' && ownSpanIds.has(first[0]!.parentSpanId)) {
      problems.push({ code: 'wrong-parent', hop: hopKeys[0], detail: `the first hop's parent ${first[0]!.parentSpanId} is a span of the same request` });
    }
    for (let i = 1; i < hops.length; i++) {
      const [child, parent] = [matched[i]!, matched[i - 1]!];
      if (child.length !== 1 || parent.length !== 1) continue;
      const [c, p] = [child[0]!, parent[0]!];
      if (c.parentSpanId !== p.spanId || c.traceId !== p.traceId) {
        problems.push({
          code: 'wrong-parent', hop: hopKeys[i],
          detail: `parent ${c.parentSpanId || '(root)'} in trace ${c.traceId}, expected ${hopKeys[i - 1]} span ${p.spanId} in trace ${p.traceId}`,
        });
      }
    }
    totals.wrongParents += problems.filter((p) => p.code === 'wrong-parent').length;

    const traceIds = new Set(own.map((s) => s.traceId));
    if (traceIds.size > 1) {
      totals.orphanFragments += traceIds.size - 1;
      problems.push({ code: 'fragmented', detail: `${traceIds.size} trace ids` });
    }
    for (const s of own) {
      if (!validId(s.traceId, TRACE_ID) || !validId(s.spanId, SPAN_ID)) problems.push({ code: 'invalid-id', hop: label(s), detail: `trace id "${s.traceId}", span id "${s.spanId}"` });
      if (sharedIds.has(s.spanId)) problems.push({ code: 'shared-span-id', hop: label(s), detail: `span id ${s.spanId} is carried by ${bySpanId.get(s.spanId)!.length} spans` });
    }

    const whole = problems.length === 0;
    if (whole) totals.wholeTraces++;
    return { id, whole, problems };
  });

  const requests = requestIds.length;
  return {
    requests,
    ...totals,
    share: requests === 0 ? 0 : (100 * totals.wholeTraces) / requests,
    duplicateSpans,
    spanIdCollisions,
    invalidIds,
    verdicts,
  };
}

/** The most frequent problems over all requests, as `code hop` with their count, most frequent first. */
export function commonProblems(result: TraceCheckResult, limit = 3): Array<{ problem: string; requests: number }> {
  const counts = new Map<string, number>();
  for (const v of result.verdicts) {
    // Each kind of problem counts once per request.
    for (const key of new Set(v.problems.map((p) => (p.hop ? `${p.code} ${p.hop}` : p.code)))) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([problem, requests]) => ({ problem, requests }));
}
