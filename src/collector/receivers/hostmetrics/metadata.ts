// Every metric the scrapers emit, with the Collector's name, unit, type and default enablement
// (hostmetricsreceiver/internal/scraper/*/metadata.yaml), and a builder that drops disabled ones.
import { AggregationTemporality, type Attributes, type Metric } from '../../pdata/model.js';

export interface MetricDef {
  description: string;
  unit: string;
  kind: 'counter' | 'updown' | 'gauge';
  valueType: 'int' | 'double';
  enabled: boolean;
}

const def = (kind: MetricDef['kind'], unit: string, valueType: MetricDef['valueType'], description: string, enabled = true): MetricDef =>
  ({ kind, unit, valueType, description, enabled });

export const scraperMetrics: Record<string, Record<string, MetricDef>> = {
  cpu: {
    'system.cpu.time': def('counter', 's', 'double', 'Total seconds each logical CPU spent on each mode.'),
    'system.cpu.utilization': def('gauge', '1', 'double', 'Difference in system.cpu.time since the last measurement, divided by the elapsed time and number of logical CPUs.', false),
  },
  memory: {
    'system.memory.usage': def('updown', 'By', 'int', 'Bytes of memory in use.'),
    'system.memory.utilization': def('gauge', '1', 'double', 'Percentage of memory bytes in use.', false),
  },
  load: {
    'system.cpu.load_average.1m': def('gauge', '{thread}', 'double', 'Average CPU Load over 1 minute.'),
    'system.cpu.load_average.5m': def('gauge', '{thread}', 'double', 'Average CPU Load over 5 minutes.'),
    'system.cpu.load_average.15m': def('gauge', '{thread}', 'double', 'Average CPU Load over 15 minutes.'),
  },
  disk: {
    'system.disk.io': def('counter', 'By', 'int', 'Disk bytes transferred.'),
    'system.disk.operations': def('counter', '{operations}', 'int', 'Disk operations count.'),
    'system.disk.io_time': def('counter', 's', 'double', 'Time disk spent activated.'),
    'system.disk.operation_time': def('counter', 's', 'double', 'Time spent in disk operations.'),
    'system.disk.weighted_io_time': def('counter', 's', 'double', 'Time disk spent activated multiplied by the queue length.'),
    'system.disk.pending_operations': def('updown', '{operations}', 'int', 'The queue size of pending I/O operations.'),
    'system.disk.merged': def('counter', '{operations}', 'int', 'The number of disk reads/writes merged into single physical disk access operations.'),
  },
  network: {
    'system.network.io': def('counter', 'By', 'int', 'The number of bytes transmitted and received.'),
    'system.network.packets': def('counter', '{packets}', 'int', 'The number of packets transferred.'),
    'system.network.errors': def('counter', '{errors}', 'int', 'The number of errors encountered.'),
    'system.network.dropped': def('counter', '{packets}', 'int', 'The number of packets dropped.'),
    'system.network.connections': def('updown', '{connections}', 'int', 'The number of connections.'),
  },
  filesystem: {
    'system.filesystem.usage': def('updown', 'By', 'int', 'Filesystem bytes used.'),
    'system.filesystem.inodes.usage': def('updown', '{inodes}', 'int', 'FileSystem inodes used.'),
    'system.filesystem.utilization': def('gauge', '1', 'double', 'Fraction of filesystem bytes used.', false),
  },
  paging: {
    'system.paging.usage': def('updown', 'By', 'int', 'Swap (unix) or pagefile (windows) usage.'),
    'system.paging.operations': def('counter', '{operations}', 'int', 'The number of paging operations.'),
    'system.paging.faults': def('counter', '{faults}', 'int', 'The number of page faults.'),
    'system.paging.utilization': def('gauge', '1', 'double', 'Swap (unix) or pagefile (windows) utilization.', false),
  },
  processes: {
    'system.processes.count': def('updown', '{processes}', 'int', 'Total number of processes in each state.'),
    'system.processes.created': def('counter', '{processes}', 'int', 'Total number of created processes.'),
  },
};

export function validateMetricToggles(scraper: string, toggles: Record<string, { enabled?: boolean } | null> | undefined): void {
  for (const [name, t] of Object.entries(toggles ?? {})) {
    if (!scraperMetrics[scraper]?.[name]) {
      throw new Error(`scrapers::${scraper}::metrics: unknown metric "${name}" (known: ${Object.keys(scraperMetrics[scraper] ?? {}).join(', ')})`);
    }
    if (t !== null && t.enabled !== undefined && typeof t.enabled !== 'boolean') {
      throw new Error(`scrapers::${scraper}::metrics::${name}::enabled: must be true or false`);
    }
  }
}

/** Collects the points of one scrape; `metrics()` returns the enabled metrics that got points. */
export class MetricsBuilder {
  private readonly points = new Map<string, Array<{ value: number; attributes: Attributes }>>();

  constructor(
    private readonly scraper: string,
    private readonly toggles: Record<string, { enabled?: boolean } | null> | undefined,
    private readonly startNs: bigint,
    private readonly nowNs: bigint,
  ) {}

  enabled(name: string): boolean {
    return this.toggles?.[name]?.enabled ?? scraperMetrics[this.scraper]![name]!.enabled;
  }

  add(name: string, value: number, attributes: Attributes = {}): void {
    if (!this.enabled(name) || !Number.isFinite(value)) return;
    let list = this.points.get(name);
    if (!list) this.points.set(name, (list = []));
    list.push({ value, attributes });
  }

  metrics(): Metric[] {
    const out: Metric[] = [];
    for (const [name, pts] of this.points) {
      const d = scraperMetrics[this.scraper]![name]!;
      const dataPoints = pts.map((p) => ({
        attributes: p.attributes, startTimeUnixNano: d.kind === 'gauge' ? 0n : this.startNs, timeUnixNano: this.nowNs,
        flags: 0, value: d.valueType === 'int' ? Math.round(p.value) : p.value, valueType: d.valueType, exemplars: [],
      }));
      const data = d.kind === 'gauge'
        ? { type: 'gauge' as const, dataPoints }
        : { type: 'sum' as const, dataPoints, isMonotonic: d.kind === 'counter', aggregationTemporality: AggregationTemporality.CUMULATIVE };
      out.push({ name, description: d.description, unit: d.unit, metadata: {}, data });
    }
    return out;
  }
}
