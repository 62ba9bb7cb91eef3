// The services of bench/whole-traces, as child processes: chains of real, uninstrumented servers in
// several runtimes (bench/fixtures/chain: Python, Node, Java, Go) and nginx as a reverse proxy, each
// calling the next one on GET /r/<id>, and the load driver that sends those requests from a process
// of its own (the agent never reports its own process, and the driver's CLIENT spans are the first
// hop of every chain). Every process is registered with a ChildProcesses so that the bench stops it
// on every way out.
import { execFile, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/util/package-root.js';
import { freePort } from '../../test/helpers/net.js';
import { type ChildProcesses, jsonLine, type TrackedChild, waitForStdoutLine } from '../overhead/children.js';

export { freePort };

export const CHAIN_FIXTURES = join(packageRoot(), 'bench', 'fixtures', 'chain');
export const OTEL_SDK_PRELOAD = join(packageRoot(), 'bench', 'fixtures', 'otel-sdk.cjs');
const NGINX = '/usr/sbin/nginx';
/** The JVM compiles JavaPool.java at start-up: allow it time on a busy machine. */
const START_TIMEOUT_MS = 30_000;
const LOAD_TIMEOUT_MS = 300_000;

/**
 * What runs a chain service:
 *   py        bench/fixtures/chain/py_threaded.py (ThreadingHTTPServer, urllib downstream)
 *   node      bench/fixtures/chain/node_keepalive.cjs (one keep-alive Agent downstream)
 *   node-sdk  the same, started with `node --require bench/fixtures/otel-sdk.cjs` (OpenTelemetry JS SDK)
 *   java      bench/fixtures/chain/JavaPool.java (HttpServer + fixed pool of 8, HttpURLConnection)
 *   go        bench/fixtures/chain/go_server.go (net/http), built once by ChainTools
 *   nginx     nginx as a reverse proxy to its downstream (config from nginxConfig)
 */
export type AppKind = 'py' | 'py-asyncio' | 'py-grpc-http' | 'py-grpc-server' | 'node' | 'node-sdk' | 'java' | 'go' | 'nginx';

export interface AppSpec {
  kind: AppKind;
  /** OTEL_SERVICE_NAME in its environment: the service.name Sonde gives its spans. */
  service: string;
}

export interface RunningApp {
  spec: AppSpec;
  port: number;
  child: TrackedChild;
}

/** The first executable called `name` on PATH, or undefined. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** nginx.conf of a reverse proxy on 127.0.0.1:`port` to 127.0.0.1:`upstream`, everything it writes under `dir`. */
export function nginxConfig(dir: string, port: number, upstream: number): string {
  return `daemon off;
user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp-body;
  proxy_temp_path ${dir}/tmp-proxy;
  fastcgi_temp_path ${dir}/tmp-fastcgi;
  uwsgi_temp_path ${dir}/tmp-uwsgi;
  scgi_temp_path ${dir}/tmp-scgi;
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://127.0.0.1:${upstream}; }
  }
}
`;
}

/** Resolves once 127.0.0.1:`port` accepts a TCP connection; rejects when `child` exits or time runs out. */
async function waitForPort(child: TrackedChild, port: number, timeoutMs: number): Promise<void> {
  let exited: number | string | undefined;
  void child.exited.then((code) => { exited = code; });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== undefined) throw new Error(`${child.name} exited (${exited}) before listening on ${port}; stderr: ${child.stderrTail() || '(empty)'}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => { socket.end(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${child.name} was not listening on ${port} within ${timeoutMs} ms; stderr: ${child.stderrTail() || '(empty)'}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface LoadSummary {
  requests: number;
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  /** The first few failures, `id: message`. */
  errors: string[];
  elapsedMs: number;
}

/**
 * Starts chain services in `workDir` (a temporary directory the caller removes): finds the tools,
 * builds the Go server once, writes nginx configs.
 */
export class ChainTools {
  private readonly python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : onPath('python3');
  private readonly java = onPath('java');
  private readonly go = onPath('go');
  private goBinary?: Promise<string>;

  constructor(private readonly children: ChildProcesses, private readonly workDir: string) {}

  /** What is missing on this host to run `kind`, or undefined when nothing is. */
  missing(kind: AppKind): string | undefined {
    switch (kind) {
      case 'py': case 'py-asyncio': return this.python ? undefined : 'python3 (apt-get install python3)';
      case 'py-grpc-http': case 'py-grpc-server': return this.pythonGrpc() ? undefined : 'python3-grpcio (apt-get install python3-grpcio)';
      case 'node': case 'node-sdk': return undefined;
      case 'java': return this.java ? undefined : 'java (apt-get install default-jdk-headless)';
      case 'go': return this.go ? undefined : 'go (apt-get install golang-go)';
      case 'nginx': return existsSync(NGINX) ? undefined : `${NGINX} (apt-get install nginx-light)`;
    }
  }

  private grpcImport?: boolean;

  /** Whether the python3 the fixtures run can import grpc (checked once). */
  private pythonGrpc(): boolean {
    this.grpcImport ??= this.python !== undefined && spawnSync(this.python, ['-c', 'import grpc'], { stdio: 'ignore' }).status === 0;
    return this.grpcImport;
  }

  /** go_server.go compiled into the work directory (standard library only, so no module set-up). */
  private buildGo(): Promise<string> {
    this.goBinary ??= (async () => {
      const out = join(this.workDir, 'go_server');
      const env = { ...process.env, GOCACHE: join(this.workDir, 'go-cache'), GOPATH: join(this.workDir, 'go-path'), GO111MODULE: 'off' };
      try {
        await promisify(execFile)(this.go!, ['build', '-o', out, join(CHAIN_FIXTURES, 'go_server.go')], { env, timeout: 180_000 });
      } catch (err) {
        throw new Error(`go build of ${join(CHAIN_FIXTURES, 'go_server.go')} failed: ${(err as { stderr?: string }).stderr || (err as Error).message}`);
      }
      return out;
    })();
    return this.goBinary;
  }

  /**
   * Starts one service with `downstreamPort` as its next hop (none: the end of the chain) and waits
   * until it listens. `otlpEndpoint` is where a `node-sdk` service exports (http://127.0.0.1:PORT).
   */
  async start(spec: AppSpec, downstreamPort: number | undefined, otlpEndpoint?: string): Promise<RunningApp> {
    const missing = this.missing(spec.kind);
    if (missing) throw new Error(`${spec.service}: ${missing} is missing`);
    const env: NodeJS.ProcessEnv = { ...process.env, OTEL_SERVICE_NAME: spec.service };
    const name = `${spec.service} (${spec.kind})`;
    if (spec.kind === 'nginx') {
      if (downstreamPort === undefined) throw new Error(`${name}: a reverse proxy needs a downstream`);
      const dir = join(this.workDir, `nginx-${spec.service}`);
      mkdirSync(dir, { recursive: true });
      const port = await freePort();
      writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, downstreamPort));
      const child = this.children.spawn(name, NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', 'stderr'], { env });
      await waitForPort(child, port, START_TIMEOUT_MS);
      return { spec, port, child };
    }
    const downstream = downstreamPort === undefined ? [] : [`http://127.0.0.1:${downstreamPort}`];
    let command: string;
    let args: string[];
    switch (spec.kind) {
      case 'py': [command, args] = [this.python!, [join(CHAIN_FIXTURES, 'py_threaded.py'), '0', ...downstream]]; break;
      case 'py-asyncio': [command, args] = [this.python!, [join(CHAIN_FIXTURES, 'py_asyncio.py'), '0', ...downstream]]; break;
      case 'py-grpc-server': [command, args] = [this.python!, [join(CHAIN_FIXTURES, 'py_grpc.py'), 'server', '0']]; break;
      case 'py-grpc-http':
        if (downstreamPort === undefined) throw new Error(`${name}: needs a gRPC downstream`);
        [command, args] = [this.python!, [join(CHAIN_FIXTURES, 'py_grpc.py'), 'http', '0', String(downstreamPort)]];
        break;
      case 'node': [command, args] = [process.execPath, [join(CHAIN_FIXTURES, 'node_keepalive.cjs'), '0', ...downstream]]; break;
      case 'node-sdk':
        if (!otlpEndpoint) throw new Error(`${name}: needs the OTLP endpoint to export to`);
        env.SONDE_BENCH_OTLP_ENDPOINT = otlpEndpoint;
        [command, args] = [process.execPath, ['--require', OTEL_SDK_PRELOAD, join(CHAIN_FIXTURES, 'node_keepalive.cjs'), '0', ...downstream]];
        break;
      case 'java': [command, args] = [this.java!, [join(CHAIN_FIXTURES, 'JavaPool.java'), '0', ...downstream]]; break;
      case 'go': [command, args] = [await this.buildGo(), ['0', ...downstream]]; break;
    }
    const child = this.children.spawn(name, command, args, { env });
    const port = await waitForStdoutLine(child, (line) => {
      const m = /^listening (\d+)$/.exec(line.trim());
      return m ? Number(m[1]) : undefined;
    }, START_TIMEOUT_MS, '"listening <port>" line');
    return { spec, port, child };
  }

  /** Starts `specs` as one chain, front first in the list; the back starts first so each knows its downstream's port. */
  async startChain(specs: AppSpec[], otlpEndpoint?: string): Promise<RunningApp[]> {
    const apps: RunningApp[] = [];
    for (const spec of [...specs].reverse()) apps.unshift(await this.start(spec, apps[0]?.port, otlpEndpoint));
    return apps;
  }

  /**
   * Sends `n` requests GET /r/<idPrefix><i> to 127.0.0.1:`port` at concurrency `c` from
   * bench/fixtures/chain/load.cjs, a child process whose OTEL_SERVICE_NAME is `service`.
   */
  async load(port: number, n: number, c: number, idPrefix: string, service: string): Promise<LoadSummary> {
    const child = this.children.spawn(`load ${n}×${c}`, process.execPath, [join(CHAIN_FIXTURES, 'load.cjs'), `http://127.0.0.1:${port}`, String(n), String(c), idPrefix], {
      env: { ...process.env, OTEL_SERVICE_NAME: service },
    });
    return waitForStdoutLine(child, (line) => jsonLine(line) as LoadSummary | undefined, LOAD_TIMEOUT_MS, 'load summary');
  }
}
