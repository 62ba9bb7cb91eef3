// Argument parsing and config loading shared by `sonde run` and `sonde validate`:
// `--config FILE` / `--config=FILE` (the embedded default without it), and for `run` only
// `--shutdown-timeout DURATION`.
import { readFileSync } from 'node:fs';
import { DEFAULT_CONFIG_YAML } from '../collector/config/default.js';
import { parseDuration } from '../collector/internal/duration.js';

export interface ConfigArgs { configPath?: string; help: boolean; /** milliseconds */ shutdownTimeoutMs?: number }

function parseConfigArgs(argv: string[], command: string): ConfigArgs {
  const out: ConfigArgs = { help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (what: string) => {
      const v = inline ?? argv[++i];
      if (!v) throw new Error(`sonde ${command}: ${flag} needs ${what}`);
      return v;
    };
    if (flag === '--help' || flag === '-h') out.help = true;
    else if (flag === '--config' || flag === '-c') out.configPath = value('a file path');
    else if (flag === '--shutdown-timeout' && command === 'run') {
      const ms = parseDuration(value('a duration, e.g. 20s'), '--shutdown-timeout');
      if (!(ms > 0)) throw new Error(`sonde ${command}: --shutdown-timeout must be positive`);
      out.shutdownTimeoutMs = ms;
    } else throw new Error(`sonde ${command}: unknown argument "${a}" (try --help)`);
  }
  return out;
}

function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read config file "${path}": ${(err as Error).message}`);
  }
}

/** What `run` and `validate` work from once their arguments are parsed. */
export interface CollectorInput {
  args: ConfigArgs;
  /** The config's origin, for messages: the file path or "the embedded default config". */
  source: string;
  /** Reads the config text (the embedded default without --config); throws when the file cannot be read. */
  configText: () => string;
}

/**
 * The common start of `run` and `validate`: parses `argv`; on a usage error prints it and returns
 * exit code 2, on --help prints `usage` and returns 0; otherwise returns the command's input.
 */
export function collectorInput(argv: string[], command: string, usage: string): CollectorInput | number {
  let args: ConfigArgs;
  try {
    args = parseConfigArgs(argv, command);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  if (args.help) { console.log(usage); return 0; }
  const { configPath } = args;
  return {
    args,
    source: configPath ?? 'the embedded default config',
    configText: () => (configPath ? readConfigFile(configPath) : DEFAULT_CONFIG_YAML),
  };
}
