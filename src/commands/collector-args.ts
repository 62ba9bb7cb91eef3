// Argument parsing shared by `sonde run` and `sonde validate`: `--config FILE` / `--config=FILE`.
import { readFileSync } from 'node:fs';

export interface ConfigArgs { configPath?: string; help: boolean }

export function parseConfigArgs(argv: string[], command: string): ConfigArgs {
  const out: ConfigArgs = { help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') out.help = true;
    else if (a === '--config' || a === '-c') {
      const v = argv[++i];
      if (!v) throw new Error(`sonde ${command}: --config needs a file path`);
      out.configPath = v;
    } else if (a.startsWith('--config=')) out.configPath = a.slice('--config='.length);
    else throw new Error(`sonde ${command}: unknown argument "${a}" (try --help)`);
  }
  return out;
}

export function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read config file "${path}": ${(err as Error).message}`);
  }
}
