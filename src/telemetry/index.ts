// Public surface of the telemetry layer (Exchanges → OpenTelemetry spans and RED metrics).
export { ExchangeTelemetry, type ExchangeTelemetryDeps, type ExchangeTelemetryStats } from './exchange-telemetry.js';
export { DEFAULT_TELEMETRY_CONFIG, resolveTelemetryConfig, type TelemetryConfig } from './config.js';
export { otlpExportSignal, type OtlpSignal } from './exchange-facts.js';
export type { ExchangeOrigin } from '../protocols/exchange.js';
export { MonotonicClock } from './clock.js';
export { RouteResolver, type RouteConfig, type UnmatchedRouteMode } from './routes.js';
export { RedMetrics } from './red-metrics.js';
export { SpanFactory } from './spans.js';
export { extractTraceContext, parseTraceParent, parseTraceState, type TraceContext } from './trace-context.js';
export { detectHostAttributes, ServiceIdentityResolver, type ServiceIdentity, type ServiceIdentitySource } from './service-identity.js';
