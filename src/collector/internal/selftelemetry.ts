// Self-telemetry helpers: the Collector's per-component counters (otelcol_receiver_accepted_spans,
// otelcol_exporter_send_failed_metric_points, …) renamed with the `sonde_` prefix, registered once
// per name on the Host's prom-client registry and shared by every component of that kind.
import { Gauge, type Registry } from 'prom-client';
import type { Signal } from '../pdata/model.js';
import { ITEM_NAME } from '../pdata/util.js';
import { sharedCounter as counter } from './selfcounter.js';

function gauge(reg: Registry, name: string, help: string, labelNames: string[]): Gauge<string> {
  const existing = reg.getSingleMetric(name);
  if (existing) return existing as Gauge<string>;
  return new Gauge({ name, help, labelNames, registers: [reg] });
}

const itemHelp = (signal: Signal) => ITEM_NAME[signal].replace('_', ' ');

/** Counts what a receiver accepted (pushed successfully downstream) and refused (downstream error). */
export class ReceiverTelemetry {
  constructor(private readonly reg: Registry, private readonly receiver: string, private readonly transport: string) {}
  accepted(signal: Signal, n: number): void {
    counter(this.reg, `sonde_receiver_accepted_${ITEM_NAME[signal]}_total`, `Number of ${itemHelp(signal)} successfully pushed into the pipeline.`, ['receiver', 'transport'])
      .inc({ receiver: this.receiver, transport: this.transport }, n);
  }
  refused(signal: Signal, n: number): void {
    counter(this.reg, `sonde_receiver_refused_${ITEM_NAME[signal]}_total`, `Number of ${itemHelp(signal)} that could not be pushed into the pipeline.`, ['receiver', 'transport'])
      .inc({ receiver: this.receiver, transport: this.transport }, n);
  }
}

/** Counts exporter outcomes and the sending queue's size/capacity. */
export class ExporterTelemetry {
  constructor(private readonly reg: Registry, private readonly exporter: string) {}
  sent(signal: Signal, n: number): void {
    counter(this.reg, `sonde_exporter_sent_${ITEM_NAME[signal]}_total`, `Number of ${itemHelp(signal)} successfully sent to destination.`, ['exporter'])
      .inc({ exporter: this.exporter }, n);
  }
  sendFailed(signal: Signal, n: number): void {
    counter(this.reg, `sonde_exporter_send_failed_${ITEM_NAME[signal]}_total`, `Number of ${itemHelp(signal)} in failed attempts to send to destination.`, ['exporter'])
      .inc({ exporter: this.exporter }, n);
  }
  enqueueFailed(signal: Signal, n: number): void {
    counter(this.reg, `sonde_exporter_enqueue_failed_${ITEM_NAME[signal]}_total`, `Number of ${itemHelp(signal)} failed to be added to the sending queue.`, ['exporter'])
      .inc({ exporter: this.exporter }, n);
  }
  queueSize(signal: Signal, size: number): void {
    gauge(this.reg, 'sonde_exporter_queue_size', 'Current size of the retry queue (in batches or items, per sizer).', ['exporter', 'data_type'])
      .set({ exporter: this.exporter, data_type: signal }, size);
  }
  queueCapacity(signal: Signal, capacity: number): void {
    gauge(this.reg, 'sonde_exporter_queue_capacity', 'Fixed capacity of the retry queue (in batches or items, per sizer).', ['exporter', 'data_type'])
      .set({ exporter: this.exporter, data_type: signal }, capacity);
  }
}

/** Processor counters: items a processor dropped on purpose (filter, sampling) or refused (memory_limiter). */
export class ProcessorTelemetry {
  constructor(private readonly reg: Registry, private readonly processor: string) {}
  dropped(signal: Signal, n: number): void {
    counter(this.reg, `sonde_processor_dropped_${ITEM_NAME[signal]}_total`, `Number of ${itemHelp(signal)} dropped by the processor.`, ['processor'])
      .inc({ processor: this.processor }, n);
  }
  refused(signal: Signal, n: number): void {
    counter(this.reg, `sonde_processor_refused_${ITEM_NAME[signal]}_total`, `Number of ${itemHelp(signal)} refused by the processor.`, ['processor'])
      .inc({ processor: this.processor }, n);
  }
}
