// The registry: every component factory Sonde has, by kind, collected from the per-kind index
// files (each component folder adds itself there). The service and the config loader look types
// (and their aliases, e.g. `otlp_grpc` for `otlp`) up here.
import type { AnyFactory, ComponentKind } from './component.js';
import { connectorFactories } from './connectors/index.js';
import { exporterFactories } from './exporters/index.js';
import { extensionFactories } from './extensions/index.js';
import { processorFactories } from './processors/index.js';
import { receiverFactories } from './receivers/index.js';

export type FactoryMap = Record<ComponentKind, Map<string, AnyFactory>>;

function byType(list: AnyFactory[]): Map<string, AnyFactory> {
  const map = new Map<string, AnyFactory>();
  for (const f of list) {
    for (const name of [f.type, ...(f.aliases ?? [])]) {
      if (map.has(name)) throw new Error(`component registry: type "${name}" (${f.kind}) is registered twice`);
      map.set(name, f);
    }
  }
  return map;
}

/** Builds a registry from explicit lists (tests use this to add their own factories). */
export function makeRegistry(lists: Partial<Record<ComponentKind, AnyFactory[]>> = {}): FactoryMap {
  return {
    receiver: byType(lists.receiver ?? []),
    processor: byType(lists.processor ?? []),
    exporter: byType(lists.exporter ?? []),
    connector: byType(lists.connector ?? []),
    extension: byType(lists.extension ?? []),
  };
}

/** The built-in registry: every factory listed in the per-kind index files. */
export function defaultRegistry(): FactoryMap {
  return makeRegistry({
    receiver: receiverFactories,
    processor: processorFactories,
    exporter: exporterFactories,
    connector: connectorFactories,
    extension: extensionFactories,
  });
}

/** Canonical (primary) type names of a kind, sorted, for "valid values" messages. */
export function validTypes(reg: FactoryMap, kind: ComponentKind): string[] {
  return [...reg[kind].keys()].sort();
}
