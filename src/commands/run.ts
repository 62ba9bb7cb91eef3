// `sonde run [--config FILE]`: runs the Collector core (embedded default config when no --config is
// given) until SIGINT or SIGTERM, then shuts down gracefully: receivers stop first, batches and
// exporter queues flush. A second signal during shutdown exits at once.
import { ConfigError } from '../collector/config/config.js';
import { DEFAULT_CONFIG_YAML } from '../collector/config/default.js';
import { Service } from '../collector/service/service.js';
import { parseConfigArgs, readConfigFile } from './collector-args.js';

const USAGE = `usage: sonde run [--config FILE]

Runs the agent. Without --config it uses the embedded default: OTLP receivers on
127.0.0.1:4317 (gRPC) and 127.0.0.1:4318 (HTTP), memory_limiter + batch, Prometheus
metrics on 127.0.0.1:9464 and a summary of what arrives on the console.
SIGINT / SIGTERM stop it gracefully.`;

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseConfigArgs(argv, 'run');
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  if (args.help) { console.log(USAGE); return 0; }
  let service: Service;
  try {
    const text = args.configPath ? readConfigFile(args.configPath) : DEFAULT_CONFIG_YAML;
    service = await Service.fromYaml(text);
  } catch (err) {
    const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
    console.error(`sonde run: ${args.configPath ?? 'the embedded default config'} is invalid:`);
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
  try {
    await service.shutdown();
    return 0;
  } catch (err) {
    console.error(`sonde run: error during shutdown: ${(err as Error).message}`);
    return 1;
  }
}
