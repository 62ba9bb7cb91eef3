// Route resolution: turns a request path into a low-cardinality `http.route`, so that metric series
// stay bounded however many distinct URLs a service sees. Configured patterns first; for the rest,
// one of the unmatched modes (heuristic by default).

export type UnmatchedRouteMode = 'heuristic' | 'path' | 'wildcard' | 'unset' | 'low-cardinality';
export const UNMATCHED_ROUTE_MODES: readonly UnmatchedRouteMode[] = ['heuristic', 'path', 'wildcard', 'unset', 'low-cardinality'];

export interface RouteConfig {
  /** Route templates, e.g. `/users/{id}`, `/static/*`. */
  patterns: string[];
  /** Paths matching these are dropped from spans and metrics, e.g. `/health`. */
  ignored_patterns: string[];
  /** What `http.route` is for paths no pattern matches. */
  unmatched: UnmatchedRouteMode;
  /** low-cardinality mode: distinct children a path segment may have before it collapses to `*`. */
  low_cardinality_max_children: number;
  /** low-cardinality mode: nodes remembered per service; beyond it new segments become `*`. */
  low_cardinality_max_nodes: number;
}

export const DEFAULT_ROUTE_CONFIG: RouteConfig = {
  patterns: [],
  ignored_patterns: [],
  unmatched: 'heuristic',
  low_cardinality_max_children: 10,
  low_cardinality_max_nodes: 10_000,
};

/** Result of resolving a path: ignored (drop the exchange), or a route (undefined = no http.route). */
export type RouteResult = { ignored: true } | { ignored: false; route: string | undefined };

const IGNORED: RouteResult = { ignored: true };
const NO_ROUTE: RouteResult = { ignored: false, route: undefined };

/** Strips the query and fragment from a request path. */
export function stripQuery(path: string): string {
  const q = path.indexOf('?');
  const h = path.indexOf('#');
  const cut = q < 0 ? h : h < 0 ? q : Math.min(q, h);
  return cut < 0 ? path : path.slice(0, cut);
}

interface CompiledPattern { template: string; regex: RegExp; specificity: number }

const escapeRegex = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/**
 * Compiles a route template:
 * - `{name}` or `:name` as a whole segment: exactly one non-empty segment;
 * - `*` inside a segment (`*.css`, `v*`): any characters within that segment;
 * - `*` as the last segment, or `**` as any segment: the rest of the path (any depth);
 * - a trailing slash on the request path is ignored.
 * Specificity (lower is tried first): 0 = literal, 1 = placeholders or in-segment globs, 2 = rest globs.
 */
export function compileRoutePattern(template: string): CompiledPattern {
  if (!template.startsWith('/')) {
    throw new Error(`route pattern ${JSON.stringify(template)} must start with '/' (e.g. "/users/{id}")`);
  }
  const segments = template.split('/').slice(1);
  let specificity = 0;
  let source = '^';
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    if (seg === '**' || (seg === '*' && last)) {
      specificity = 2;
      source += last ? '(?:/.*)?' : '(?:/[^/]*)*';
      return;
    }
    if (/^\{[^{}/]+\}$/.test(seg) || /^:[^/]+$/.test(seg)) {
      specificity = Math.max(specificity, 1);
      source += '/[^/]+';
      return;
    }
    if (seg.includes('*')) specificity = Math.max(specificity, 1);
    source += '/' + seg.split('*').map(escapeRegex).join('[^/]*');
  });
  source += '/?$';
  return { template, regex: new RegExp(source), specificity };
}

function compileAll(templates: string[]): CompiledPattern[] {
  // Stable sort: configuration order within the same specificity ("first match wins").
  return templates.map(compileRoutePattern).map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.specificity - b.p.specificity || a.i - b.i).map(({ p }) => p);
}

// ── heuristic mode ──────────────────────────────────────────────────────────────────────────────
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX_ID = /^(?:0x)?[0-9a-f]{8,}$/i;
const NUMERIC_LIKE = /^[-+]?[\d][\d.,:_-]*$/; // 42, 3.14, 2024-01-02, 12:30
const VERSION = /^v\d+(?:\.\d+)*$/i; // v1, v2.1: API versions are words
const WORD_CHARS = /^[A-Za-z0-9._~-]+$/;
const BASE64_TOKEN = /^[A-Za-z0-9+/_=-]{16,}$/;

/** True when a path segment looks like an identifier (number, UUID, hash, token, email…) rather than a word. */
export function isIdLikeSegment(seg: string): boolean {
  if (seg.length === 0) return false;
  if (NUMERIC_LIKE.test(seg) || UUID.test(seg) || HEX_ID.test(seg)) return true;
  if (seg.includes('@')) return true; // emails, user@host
  if (!WORD_CHARS.test(seg)) return true; // percent-encoded or exotic characters: values, not names
  if (VERSION.test(seg)) return false;
  let digits = 0;
  let letters = 0;
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) letters++;
  }
  // Mixed letters and digits: `user42`, `a1b2c3d4` are ids; `oauth2`, `md5`, `ipv6` are words.
  if (digits > 0 && letters > 0 && (digits >= 2 || seg.length >= 8)) return true;
  // Long base64/base64url tokens without digits still look random: padding or mixed case runs.
  return BASE64_TOKEN.test(seg) && (seg.endsWith('=') || /[A-Z]{2}[a-z][A-Z]|[a-z][A-Z][a-z][A-Z]/.test(seg));
}

/** Heuristic route: id-like segments become `*`, words are kept. */
export function heuristicRoute(path: string): string {
  const segments = path.split('/');
  let changed = false;
  for (let i = 1; i < segments.length; i++) {
    if (isIdLikeSegment(segments[i]!)) {
      segments[i] = '*';
      changed = true;
    }
  }
  return changed ? segments.join('/') : path;
}

// ── low-cardinality mode ────────────────────────────────────────────────────────────────────────
interface PathNode { children: Map<string, PathNode> | undefined; wildcard: PathNode | undefined }
const newNode = (): PathNode => ({ children: undefined, wildcard: undefined });

/**
 * A path-prefix tree per service: a node keeps its children's literal names until it has seen more
 * than `maxChildren` distinct ones; then it collapses (all its children, old and new, become `*`)
 * and forgets their subtrees. Memory is bounded by `maxNodes` per tree.
 */
export class LowCardinalityRouteTree {
  private readonly root = newNode();
  private nodes = 1;

  constructor(private readonly maxChildren: number, private readonly maxNodes: number) {}

  route(path: string): string {
    const segments = path.split('/');
    let node = this.root;
    let out = '';
    for (let i = 1; i < segments.length; i++) {
      const seg = segments[i]!;
      if (seg === '' && i === segments.length - 1) { out += '/'; break; } // trailing slash
      if (node.wildcard) {
        node = node.wildcard;
        out += '/*';
        continue;
      }
      node.children ??= new Map();
      let child = node.children.get(seg);
      if (!child) {
        if (node.children.size >= this.maxChildren) {
          this.nodes -= this.countSubtree(node) - 1;
          node.children = undefined;
          node.wildcard = newNode();
          this.nodes++;
          node = node.wildcard;
          out += '/*';
          continue;
        }
        if (this.nodes >= this.maxNodes) {
          // Tree full: do not learn, report the segment as `*` so cardinality stays bounded.
          out += '/*';
          for (let j = i + 1; j < segments.length; j++) out += segments[j] === '' ? '/' : '/*';
          return out;
        }
        child = newNode();
        node.children.set(seg, child);
        this.nodes++;
      }
      node = child;
      out += '/' + seg;
    }
    return out === '' ? '/' : out;
  }

  get size(): number { return this.nodes; }

  private countSubtree(node: PathNode): number {
    let n = 1;
    if (node.children) for (const c of node.children.values()) n += this.countSubtree(c);
    if (node.wildcard) n += this.countSubtree(node.wildcard);
    return n;
  }
}

/** Paths whose resolution is remembered (a service with more distinct paths clears it and starts over). */
const ROUTE_CACHE_ENTRIES = 4096;

/** Resolves `http.route` for a path, per service (low-cardinality trees are per service). */
export class RouteResolver {
  private readonly patterns: CompiledPattern[];
  private readonly ignored: CompiledPattern[];
  private readonly trees = new Map<string, LowCardinalityRouteTree>();
  /** Path → result, for the modes whose answer depends on the path alone. */
  private readonly cache = new Map<string, RouteResult>();

  constructor(private readonly config: RouteConfig = DEFAULT_ROUTE_CONFIG) {
    this.patterns = compileAll(config.patterns);
    this.ignored = compileAll(config.ignored_patterns);
  }

  /** `path` may include a query string; `serviceKey` scopes the low-cardinality memory. */
  resolve(rawPath: string, serviceKey: string): RouteResult {
    const path = stripQuery(rawPath);
    // Every mode but low-cardinality (which learns per service) is a pure function of the path:
    // most services have few distinct paths, so remember the answers (bounded; cleared when full).
    if (this.config.unmatched === 'low-cardinality') return this.resolveUncached(path, serviceKey);
    let result = this.cache.get(path);
    if (result === undefined) {
      if (this.cache.size >= ROUTE_CACHE_ENTRIES) this.cache.clear();
      result = this.resolveUncached(path, serviceKey);
      this.cache.set(path, result);
    }
    return result;
  }

  private resolveUncached(path: string, serviceKey: string): RouteResult {
    for (const p of this.ignored) if (p.regex.test(path)) return IGNORED;
    for (const p of this.patterns) if (p.regex.test(path)) return { ignored: false, route: p.template };
    switch (this.config.unmatched) {
      case 'unset': return NO_ROUTE;
      case 'wildcard': return { ignored: false, route: '/**' };
      case 'path': return { ignored: false, route: path };
      case 'heuristic': return { ignored: false, route: heuristicRoute(path) };
      case 'low-cardinality': {
        let tree = this.trees.get(serviceKey);
        if (!tree) {
          tree = new LowCardinalityRouteTree(this.config.low_cardinality_max_children, this.config.low_cardinality_max_nodes);
          this.trees.set(serviceKey, tree);
        }
        return { ignored: false, route: tree.route(path) };
      }
    }
  }

  /** True when the path matches an ignored pattern (used for gRPC, which has no routes). */
  isIgnored(rawPath: string): boolean {
    const path = stripQuery(rawPath);
    return this.ignored.some((p) => p.regex.test(path));
  }
}
