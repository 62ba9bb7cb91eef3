// The `sonde` mode of bench/overhead: `node bin/sonde.js run --config FILE` with the ebpf receiver
// limited to the server's port, spans and RED metrics exported as OTLP/HTTP to the bench's sink
// (the real export path) and the Prometheus exporter on a free port for the self-metrics
// (readiness and kernel drops).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ebpfServiceYaml } from '../../test/helpers/ebpf-service-yaml.js';
import { freePort } from '../../test/helpers/net.js';
import type { ChildProcesses, TrackedChild } from './children.js';

const READY_TIMEOUT_MS = 30_000;
/** What the Service logs once every component started. */
const READY_LOG_LINE = 'Everything is ready';

export function sondeBenchConfig(serverPort: number, sinkPort: number, prometheusPort: number): string {
  return ebpfServiceYaml({
    ports: [serverPort],
    processors: { yaml: '  batch: {}', names: ['batch'] },
    exportersYaml: `  otlphttp:\n    endpoint: http://127.0.0.1:${sinkPort}\n  prometheus:\n    endpoint: 127.0.0.1:${prometheusPort}`,
    tracesExporters: ['otlphttp'],
    metricsExporters: ['otlphttp', 'prometheus'],
  });
}

export interface RunningAgent {
  child: TrackedChild;
  prometheusPort: number;
}

async function scrape(prometheusPort: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${prometheusPort}/metrics`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts the agent (`node CLI run --config FILE`, CLI being bin/sonde.js unless told otherwise)
 * from the repository root and waits until it logged that every component started
 * and its Prometheus endpoint answers. Rejects with the agent's own stderr when it exits or times out.
 */
export async function startSondeAgent(children: ChildProcesses, repoRoot: string, cli: string, configDir: string, serverPort: number, sinkPort: number): Promise<RunningAgent> {
  // bin/sonde.js only imports dist/src/cli.js; say what to do rather than show a module-not-found trace.
  const entry = cli === join(repoRoot, 'bin', 'sonde.js') ? join(repoRoot, 'dist', 'src', 'cli.js') : cli;
  if (!existsSync(entry)) throw new Error(`${entry} does not exist: build the agent first (npm run build), or point --sonde-cli at another build's src/cli.js`);
  const prometheusPort = await freePort();
  const configPath = join(configDir, `sonde-bench-${serverPort}.yaml`);
  writeFileSync(configPath, sondeBenchConfig(serverPort, sinkPort, prometheusPort));
  const child = children.spawn('sonde agent', process.execPath, [cli, 'run', '--config', configPath], { cwd: repoRoot });
  let exitCode: number | string | undefined;
  void child.exited.then((code) => { exitCode = code; });
  let logReady = false;
  let carry = ''; // the line may be split across chunks
  child.process.stderr!.on('data', (chunk: string) => {
    logReady ||= (carry + chunk).includes(READY_LOG_LINE);
    carry = chunk.slice(-READY_LOG_LINE.length);
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`sonde run --config ${configPath} exited (${exitCode}) before it was ready: ${mainComplaint(child.stderrTail())}\nits stderr:\n${child.stderrTail() || '(no output)'}`);
    if (logReady && (await scrape(prometheusPort)) !== undefined) return { child, prometheusPort };
    await new Promise((r) => setTimeout(r, 200));
  }
  await children.stop(child);
  throw new Error(`sonde run --config ${configPath} was not ready within ${READY_TIMEOUT_MS / 1000} s (no "Everything is ready" log line and Prometheus answer on 127.0.0.1:${prometheusPort}):\n${child.stderrTail() || '(no output)'}`);
}

/** The line of the agent's stderr that says what went wrong: its last plain-text line (the CLI's own message). */
function mainComplaint(stderr: string): string {
  const plain = stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{') && !/^\s/.test(l));
  return plain.at(-1) ?? '(see its stderr)';
}

export interface DropCounts {
  /** Sum of the `sonde_*kernel*drop*` samples (records lost in the kernel); undefined when there is none. */
  kernel: number | undefined;
  /** Sum of the other `sonde_*drop*` samples (e.g. spans the receiver or a queue dropped). */
  other: number | undefined;
  names: string[];
}

/** Sums the agent's self-metrics whose name starts with `sonde_` and contains `drop`, kernel ones apart. */
export function sumDropMetrics(exposition: string): DropCounts {
  const sums = { kernel: undefined as number | undefined, other: undefined as number | undefined };
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? '';
    if (!name.startsWith('sonde_') || !name.includes('drop') || name.endsWith('_created')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!Number.isFinite(value)) continue;
    names.add(name);
    const kind = name.includes('kernel') ? 'kernel' : 'other';
    sums[kind] = (sums[kind] ?? 0) + value;
  }
  return { ...sums, names: [...names] };
}

export async function readDrops(agent: RunningAgent): Promise<DropCounts> {
  const text = await scrape(agent.prometheusPort);
  if (text === undefined) throw new Error(`sonde agent: its Prometheus endpoint 127.0.0.1:${agent.prometheusPort}/metrics stopped answering`);
  return sumDropMetrics(text);
}
