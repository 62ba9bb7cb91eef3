import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_ROUTE_CONFIG, heuristicRoute, isIdLikeSegment, LowCardinalityRouteTree, RouteResolver, stripQuery, type RouteConfig } from '../../src/telemetry/routes.js';

const resolver = (over: Partial<RouteConfig>) => new RouteResolver({ ...DEFAULT_ROUTE_CONFIG, ...over });
const routeOf = (r: RouteResolver, path: string, service = 'svc') => {
  const res = r.resolve(path, service);
  return res.ignored ? 'IGNORED' : res.route;
};

describe('route patterns', () => {
  const r = resolver({
    patterns: ['/static/*', '/users/{id}', '/users/me', '/users/{id}/orders/:order', '/files/*.css', '/api/**/status'],
    ignored_patterns: ['/health', '/metrics*'],
  });

  it('matches placeholders, trailing slashes and strips the query', () => {
    assert.equal(routeOf(r, '/users/42?x=1'), '/users/{id}');
    assert.equal(routeOf(r, '/users/42/'), '/users/{id}');
    assert.equal(routeOf(r, '/users/42/orders/7'), '/users/{id}/orders/:order');
  });

  it('prefers literal patterns over placeholders over rest globs, whatever the order', () => {
    assert.equal(routeOf(r, '/users/me'), '/users/me');
    assert.equal(routeOf(r, '/static/css/site.css'), '/static/*');
    assert.equal(routeOf(r, '/files/site.css'), '/files/*.css');
    assert.equal(routeOf(r, '/api/v1/jobs/9/status'), '/api/**/status');
    assert.equal(routeOf(r, '/api/status'), '/api/**/status', '** matches zero segments');
  });

  it('drops ignored paths', () => {
    assert.equal(routeOf(r, '/health'), 'IGNORED');
    assert.equal(routeOf(r, '/health?probe=1'), 'IGNORED');
    assert.equal(routeOf(r, '/metrics'), 'IGNORED');
    assert.equal(routeOf(r, '/metricsz'), 'IGNORED');
    assert.equal(routeOf(r, '/metrics/prometheus'), '/metrics/prometheus', 'an in-segment * stays within its segment');
    assert.notEqual(routeOf(r, '/healthz'), 'IGNORED');
    assert.equal(r.isIgnored('/health'), true);
  });

  it('falls back to the unmatched mode', () => {
    assert.equal(routeOf(r, '/orders/123'), '/orders/*');
  });

  it('rejects patterns that are not paths', () => {
    assert.throws(() => resolver({ patterns: ['users/{id}'] }), /must start with '\/'/);
  });
});

describe('unmatched modes', () => {
  it('path keeps the raw path (query stripped), wildcard and unset', () => {
    assert.equal(routeOf(resolver({ unmatched: 'path' }), '/users/42?token=secret'), '/users/42');
    assert.equal(routeOf(resolver({ unmatched: 'wildcard' }), '/users/42'), '/**');
    assert.equal(routeOf(resolver({ unmatched: 'unset' }), '/users/42'), undefined);
  });
});

describe('heuristic routes', () => {
  const cases: Array<[string, string]> = [
    ['/users/42', '/users/*'],
    ['/users/42/orders/7', '/users/*/orders/*'],
    ['/items/550e8400-e29b-41d4-a716-446655440000', '/items/*'],
    ['/commits/9fceb02d0ae598e95dc970b74767f19372d61af8', '/commits/*'],
    ['/blobs/deadbeef', '/blobs/*'],
    ['/people/john.doe@example.com', '/people/*'],
    ['/t/a1b2c3d4e5', '/t/*'],
    ['/u/user42', '/u/*'],
    ['/sessions/dGhpcyBpcyBhIHRva2Vu==', '/sessions/*'],
    ['/reports/2024-01-31', '/reports/*'],
    ['/search/John%20Doe', '/search/*'],
    ['/api/v2/users', '/api/v2/users'],
    ['/oauth2/authorize', '/oauth2/authorize'],
    ['/static/index.html', '/static/index.html'],
    ['/getUserProfile', '/getUserProfile'],
    ['/', '/'],
  ];
  for (const [path, route] of cases) {
    it(`${path} → ${route}`, () => assert.equal(heuristicRoute(path), route));
  }
  it('words stay words', () => {
    for (const w of ['users', 'api', 'v1', 'md5', 'ipv6', 'checkout-cart', 'favicon.ico', 'facade']) assert.equal(isIdLikeSegment(w), false, w);
  });
  it('query strings never reach the route', () => assert.equal(stripQuery('/a?b=1#c'), '/a'));
});

describe('low-cardinality routes', () => {
  it('keeps up to N distinct children, then collapses the segment to * for everyone', () => {
    const tree = new LowCardinalityRouteTree(10, 10_000);
    for (let i = 0; i < 10; i++) assert.equal(tree.route(`/users/u${i}/profile`), `/users/u${i}/profile`);
    assert.equal(tree.route('/users/u10/profile'), '/users/*/profile', 'the 11th distinct child collapses');
    assert.equal(tree.route('/users/u3/profile'), '/users/*/profile', 'earlier children collapse too');
    assert.equal(tree.route('/about'), '/about');
  });

  it('bounds memory: collapsing forgets subtrees, and a full tree learns nothing new', () => {
    const tree = new LowCardinalityRouteTree(3, 10_000);
    for (let i = 0; i < 1000; i++) tree.route(`/x/${i}/y/${i}`);
    assert.ok(tree.size < 10, `tree has ${tree.size} nodes after 1000 distinct paths`);
    const small = new LowCardinalityRouteTree(100, 5);
    for (let i = 0; i < 50; i++) small.route(`/p${i}/q`);
    assert.ok(small.size <= 5);
    assert.equal(small.route('/new/path/'), '/*/*/');
  });

  it('remembers per service through the resolver', () => {
    const r = resolver({ unmatched: 'low-cardinality', low_cardinality_max_children: 2 });
    routeOf(r, '/a/1', 'one');
    routeOf(r, '/a/2', 'one');
    assert.equal(routeOf(r, '/a/3', 'one'), '/a/*');
    assert.equal(routeOf(r, '/a/3', 'two'), '/a/3', 'another service has its own tree');
  });
});
