// A component's own self-telemetry counter on the Host's prom-client registry: registered by the
// first instance, shared by the others (prom-client refuses a second registration of a name).
import { Counter, type Registry } from 'prom-client';

export function sharedCounter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}
