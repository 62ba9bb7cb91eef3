// `sonde validate --config FILE`: strict parse, every component's validate and the pipeline graph
// checks, without creating or starting anything (no port is bound). Exit 0 when valid, 1 otherwise.
import { defaultRegistry } from '../collector/components.js';
import { ConfigError, loadConfig } from '../collector/config/config.js';
import { collectorInput } from './collector-args.js';

const USAGE = `usage: sonde validate [--config FILE]

Checks a Collector-style config (the embedded default when no --config is given):
unknown component types and keys, references to components that are not configured,
pipelines without receivers or exporters, connector cycles, and every component's own rules.
Exits 0 when the config is valid, 1 with every problem listed otherwise.`;

export async function main(argv: string[]): Promise<number> {
  const input = collectorInput(argv, 'validate', USAGE);
  if (typeof input === 'number') return input;
  const { source } = input;
  try {
    const cfg = loadConfig(input.configText(), defaultRegistry());
    console.log(`${source} is valid: ${cfg.pipelines.length} pipeline(s): ${cfg.pipelines.map((p) => p.id).join(', ')}`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${source} is invalid (${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}):`);
      for (const p of err.problems) console.error(`  - ${p}`);
    } else {
      console.error(`${source}: ${(err as Error).message}`);
    }
    return 1;
  }
}
