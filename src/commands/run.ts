// `sonde run [--config FILE] [--shutdown-timeout DURATION]`: runs the Collector core (embedded
// default config when no --config is given) until SIGINT or SIGTERM, then shuts down gracefully
// within the shutdown timeout: receivers stop first, batches and exporter queues flush, and what
// cannot be sent in time is dropped and reported. A second signal during shutdown exits at once.
import { ConfigError } from '../collector/config/config.js';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, Service } from '../collector/service/service.js';
import { collectorInput } from './collector-args.js';

const USAGE = `usage: sonde run [--config FILE] [--shutdown-timeout DURATION]

Runs the agent. Without --config it uses the embedded default: the ebpf receiver
(capture of every process's HTTP/1.x, HTTP/2 and gRPC traffic; off, with the reason
printed, when the host cannot load the probes) and OTLP receivers on 127.0.0.1:4317 (gRPC)
and 127.0.0.1:4318 (HTTP); memory_limiter + batch; the servicegraph connector turning spans
into service graph metrics; Prometheus metrics (RED and service graph) on 127.0.0.1:9464;
spans and a summary of the rest on the console.
SIGINT / SIGTERM stop it gracefully: queues and batches flush for at most
--shutdown-timeout (default ${DEFAULT_SHUTDOWN_TIMEOUT_MS / 1000}s); what is still unsent then is dropped
and its item count logged. Keep it below Kubernetes' terminationGracePeriodSeconds.`;

/** How long after shutdown returns the process may take to exit on its own. */
const EXIT_GRACE_MS = 1000;

export async function main(argv: string[]): Promise<number> {
  const input = collectorInput(argv, 'run', USAGE);
  if (typeof input === 'number') return input;
  let service: Service;
  try {
    service = await Service.fromYaml(input.configText(), { shutdownTimeoutMs: input.args.shutdownTimeoutMs });
  } catch (err) {
    const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
    console.error(`sonde run: ${input.source} is invalid:`);
    for (const p of problems) console.error(`  - ${p}`);
    return 1;
  }
  try {
    await service.start();
  } catch (err) {
    console.error(`sonde run: ${(err as Error).message}`);
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  service.host.logger.info({ signal }, 'Received signal from OS, shutting down');
  const forceExit = () => { console.error('sonde run: second signal, exiting without finishing shutdown'); process.exit(1); };
  process.once('SIGINT', forceExit);
  process.once('SIGTERM', forceExit);
  let code = 0;
  try {
    await service.shutdown();
  } catch (err) {
    console.error(`sonde run: error during shutdown: ${(err as Error).message}`);
    code = 1;
  }
  // The shutdown timeout bounds the process too: a component that gave up past its deadline may
  // still hold a socket or timer open, which must not keep the agent alive until SIGKILL.
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
  return code;
}
