// Shared by the D-area component tests: real CreateSettings/Host objects (a silent pino logger and
// a fresh prom-client Registry as the agent's self-metrics) and an HTTP scrape over loopback.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { TraceJoins } from '../../../src/collector/internal/trace-joins.js';
import type { ComponentKind, CreateSettings, Host } from '../../../src/collector/component.js';

export function testHost(selfMetrics = new Registry()): Host {
  return { logger: pino({ level: 'silent' }), selfMetrics, getExtension: () => undefined, traceJoins: new TraceJoins() };
}

export function testSettings(kind: ComponentKind, type: string, host = testHost()): CreateSettings {
  const id = { type, name: '', toString: () => type };
  return { id, kind, host, logger: host.logger };
}

export interface ScrapeResult { status: number; contentType: string; body: string }

export async function scrape(port: number, accept?: string, path = '/metrics'): Promise<ScrapeResult> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: accept ? { accept } : {}, signal: AbortSignal.timeout(5000) });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
}
