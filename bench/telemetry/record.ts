// Cost of ExchangeTelemetry.record() per exchange (spans + RED metrics, heuristic routes, a
// traceparent on half of the requests). Run: node dist/bench/telemetry/record.js [count] [--metrics-only]
import type { Exchange, ExchangeOrigin } from '../../src/protocols/exchange.js';
import { ExchangeTelemetry } from '../../src/telemetry/exchange-telemetry.js';

const count = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 200_000);
const metricsOnly = process.argv.includes('--metrics-only');
const origin: ExchangeOrigin = { role: 'server', pid: process.pid, localAddress: '127.0.0.1', localPort: 8080, remoteAddress: '127.0.0.1', remotePort: 50000, family: 4 };
const exchanges: Exchange[] = Array.from({ length: 1000 }, (_, i) => {
  const start = process.hrtime.bigint();
  const headers: Array<[string, string]> = [['host', 'localhost:8080'], ['user-agent', 'wrk/4.2']];
  if (i % 2 === 0) headers.push(['traceparent', `00-0af7651916cd43dd8448eb211c80${String(1000 + i).padStart(4, '0')}-b7ad6b7169203331-01`]);
  return {
    protocol: 'http1',
    request: { method: i % 5 === 0 ? 'POST' : 'GET', target: `/users/${i}/orders?page=${i % 7}`, version: 'HTTP/1.1', headers, bodySize: 0, startNs: start, endNs: start + 1000n },
    response: { status: i % 50 === 0 ? 500 : 200, headers: [], bodySize: 512, startNs: start + 900_000n, endNs: start + 1_000_000n },
  };
});

const telemetry = new ExchangeTelemetry({ traces: !metricsOnly });
for (let i = 0; i < 20_000; i++) telemetry.record(exchanges[i % exchanges.length]!, origin); // warm-up
telemetry.drainSpans();
const t0 = process.hrtime.bigint();
for (let i = 0; i < count; i++) {
  telemetry.record(exchanges[i % exchanges.length]!, origin);
  if (i % 8192 === 8191) telemetry.drainSpans();
}
const ns = Number(process.hrtime.bigint() - t0);
telemetry.drainSpans();
console.log(`record()${metricsOnly ? ' (metrics only)' : ''}: ${(ns / count).toFixed(0)} ns/exchange over ${count} exchanges (${((count / ns) * 1e9 / 1000).toFixed(0)}k exchanges/s), failed=${telemetry.stats.failed}`);
const m0 = process.hrtime.bigint();
const md = telemetry.collectMetrics();
console.log(`collectMetrics(): ${(Number(process.hrtime.bigint() - m0) / 1e6).toFixed(2)} ms for ${md.resourceMetrics[0]?.scopeMetrics[0]?.metrics.length ?? 0} metrics`);
