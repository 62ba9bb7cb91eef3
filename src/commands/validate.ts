// `sonde validate --config FILE`: strict parse, every component's validate and the pipeline graph
// checks, without creating or starting anything (no port is bound). Exit 0 when valid, 1 otherwise.
import { defaultRegistry } from '../collector/components.js';
import { ConfigError, loadConfig } from '../collector/config/config.js';
import { DEFAULT_CONFIG_YAML } from '../collector/config/default.js';
import { parseConfigArgs, readConfigFile } from './collector-args.js';

const USAGE = `usage: sonde validate [--config FILE]

Checks a Collector-style config (the embedded default when no --config is given):
unknown component types and keys, references to components that are not configured,
pipelines without receivers or exporters, connector cycles, and every component's own rules.
Exits 0 when the config is valid, 1 with every problem listed otherwise.`;

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseConfigArgs(argv, 'validate');
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  if (args.help) { console.log(USAGE); return 0; }
  const source = args.configPath ?? 'the embedded default config';
  try {
    const text = args.configPath ? readConfigFile(args.configPath) : DEFAULT_CONFIG_YAML;
    const cfg = loadConfig(text, defaultRegistry());
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
