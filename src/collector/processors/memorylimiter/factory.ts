import type { ProcessorFactory } from '../../component.js';
import { nextConsume, signalProcessor } from '../../internal/processorhelper.js';
import { ProcessorTelemetry } from '../../internal/selftelemetry.js';
import { countItems } from '../../pdata/util.js';
import { createDefaultConfig, validate, type MemoryLimiterConfig } from './config.js';
import { MemoryLimiter } from './limiter.js';

// Like the Collector, one limiter (one measurement loop) per component id, shared by every
// pipeline and signal that lists it.
const limiters = new Map<string, { limiter: MemoryLimiter; cfg: MemoryLimiterConfig }>();

export const memoryLimiterProcessorFactory: ProcessorFactory<MemoryLimiterConfig> = {
  kind: 'processor',
  type: 'memory_limiter',
  signals: ['traces', 'metrics', 'logs'],
  createDefaultConfig,
  validate,
  createProcessor(settings, cfg, signal, next) {
    const id = settings.id.toString();
    let entry = limiters.get(id);
    if (!entry || entry.cfg !== cfg) {
      entry = { limiter: new MemoryLimiter(cfg, settings.logger), cfg };
      limiters.set(id, entry);
    }
    const { limiter } = entry;
    const forward = nextConsume(signal, next);
    const telemetry = new ProcessorTelemetry(settings.host.selfMetrics, id);
    let started = false;
    return signalProcessor(signal, async (data, ctx) => {
      try {
        limiter.admit();
      } catch (err) {
        telemetry.refused(signal, countItems(signal, data));
        throw err;
      }
      await forward(data, ctx);
    }, {
      start: async () => { if (!started) { started = true; limiter.acquire(); } },
      shutdown: async () => {
        if (!started) return;
        started = false;
        limiter.release();
      },
    });
  },
};
