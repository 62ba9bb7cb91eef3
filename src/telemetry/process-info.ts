// Pure parsers for what /proc says about a process: environment (OTEL_* only), command line
// (interpreter scripts), cgroup (container id) and stat (start time). No I/O here: the resolver in
// service-identity.ts reads the files and hands their contents to these functions.

/**
 * Returns only the `OTEL_*` variables of a NUL-separated /proc/PID/environ. Everything else in a
 * process environment may be a secret, so it is never even turned into strings.
 */
export function parseOtelEnviron(environ: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  const buf = Buffer.from(environ.buffer, environ.byteOffset, environ.byteLength);
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(0, start);
    if (end < 0) end = buf.length;
    // 'OTEL_' = 4f 54 45 4c 5f
    if (end - start > 5 && buf[start] === 0x4f && buf[start + 1] === 0x54 && buf[start + 2] === 0x45 && buf[start + 3] === 0x4c && buf[start + 4] === 0x5f) {
      const entry = buf.toString('utf8', start, end);
      const eq = entry.indexOf('=');
      if (eq > 0) out.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
    start = end + 1;
  }
  return out;
}

function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a stray '%' is kept literally rather than losing the attribute
  }
}

/**
 * Parses `OTEL_RESOURCE_ATTRIBUTES` (`key1=value1,key2=value2`, values percent-encoded) as the
 * OpenTelemetry SDKs do. Malformed members (no '=', empty key) are skipped.
 */
export function parseResourceAttributes(value: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const member of value.split(',')) {
    const eq = member.indexOf('=');
    if (eq <= 0) continue;
    const key = member.slice(0, eq).trim();
    if (key.length === 0) continue;
    out.set(key, percentDecode(member.slice(eq + 1).trim()));
  }
  return out;
}

/** Splits a NUL-separated /proc/PID/cmdline into argv. */
export function parseCmdline(cmdline: Uint8Array): string[] {
  const s = Buffer.from(cmdline.buffer, cmdline.byteOffset, cmdline.byteLength).toString('utf8');
  const args = s.split('\0');
  if (args.length > 0 && args[args.length - 1] === '') args.pop();
  return args;
}

export interface RuntimeInfo {
  /** `telemetry.sdk.language` of the target: nodejs, python, java, ruby, php, perl. */
  language?: string;
  /** `process.runtime.name`: nodejs, cpython, pypy, java, ruby. */
  runtimeName?: string;
  /** The script or module the interpreter runs, as a service name (`app` for `python3 app.py`). */
  scriptName?: string;
}

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const stripExtension = (name: string, exts: RegExp) => name.replace(exts, '');
/** com.acme.Main → Main */
const javaClassName = (cls: string) => cls.slice(cls.lastIndexOf('.') + 1);

interface InterpreterRule {
  match: RegExp;
  language: string;
  runtimeName?: (exe: string) => string;
  /** Options whose value is the next argument. */
  optionsWithValue: Set<string>;
  /** Options after which there is no script (code given inline). */
  inlineCode: Set<string>;
  /** Option whose value is itself the service (python -m module, java -jar x.jar). */
  moduleOption?: Set<string>;
  extensions: RegExp;
}

const INTERPRETERS: InterpreterRule[] = [
  {
    match: /^(?:python[\d.]*|pypy[\d.]*)$/,
    language: 'python',
    runtimeName: (exe) => (exe.startsWith('pypy') ? 'pypy' : 'cpython'),
    optionsWithValue: new Set(['-W', '-X', '--check-hash-based-pycs']),
    inlineCode: new Set(['-c']),
    moduleOption: new Set(['-m']),
    extensions: /\.(?:py|pyc|pyz)$/,
  },
  {
    match: /^(?:node|nodejs)$/,
    language: 'nodejs',
    runtimeName: () => 'nodejs',
    optionsWithValue: new Set(['-r', '--require', '--import', '--loader', '--experimental-loader', '--title',
      '--inspect-port', '--conditions', '-C', '--env-file', '--input-type', '--stack-size']),
    inlineCode: new Set(['-e', '--eval', '-p', '--print']),
    extensions: /\.(?:js|mjs|cjs|ts|mts|cts)$/,
  },
  {
    match: /^java$/,
    language: 'java',
    runtimeName: () => 'java',
    optionsWithValue: new Set(['-cp', '-classpath', '--class-path', '-p', '--module-path', '--add-modules', '--add-opens', '--add-exports']),
    inlineCode: new Set(),
    moduleOption: new Set(['-jar', '-m', '--module']),
    extensions: /\.(?:jar|war)$/,
  },
  {
    match: /^ruby[\d.]*$/,
    language: 'ruby',
    runtimeName: () => 'ruby',
    optionsWithValue: new Set(['-I', '-r']),
    inlineCode: new Set(['-e']),
    extensions: /\.rb$/,
  },
  {
    match: /^php[\d.]*(?:-fpm[\d.]*)?$/,
    language: 'php',
    optionsWithValue: new Set(['-c', '-d', '-z']),
    inlineCode: new Set(['-r']),
    extensions: /\.php$/,
  },
  {
    match: /^perl[\d.]*$/,
    language: 'perl',
    optionsWithValue: new Set(['-I', '-M', '-m']),
    inlineCode: new Set(['-e', '-E']),
    extensions: /\.(?:pl|pm)$/,
  },
];

/**
 * Recognises interpreters by executable name and finds the script they run:
 * `python3 app.py` → app, `python3 -m http.server` → http.server, `node dist/index.js` → index,
 * `java -jar shop.jar` → shop, `java -cp x com.acme.Main` → Main. Inline code (`-c`, `-e`) has no script.
 */
export function detectRuntime(argv: string[], exeName: string): RuntimeInfo {
  const argv0 = argv.length > 0 ? basename(argv[0]!) : '';
  const rule = INTERPRETERS.find((r) => r.match.test(exeName)) ?? INTERPRETERS.find((r) => r.match.test(argv0));
  if (!rule) return {};
  const info: RuntimeInfo = { language: rule.language, runtimeName: rule.runtimeName?.(rule.match.test(exeName) ? exeName : argv0) };
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (rule.inlineCode.has(arg)) return info;
    if (rule.moduleOption?.has(arg)) {
      const mod = argv[i + 1];
      // java -m module/com.acme.Main names a class; -jar and python -m name the service directly.
      if (mod) info.scriptName = rule.language === 'java' && arg !== '-jar' ? javaClassName(basename(mod)) : stripExtension(basename(mod), rule.extensions);
      return info;
    }
    if (rule.optionsWithValue.has(arg)) { i++; continue; }
    if (arg === '--') continue;
    if (arg.startsWith('-')) continue;
    info.scriptName = rule.language === 'java' ? javaClassName(arg) : stripExtension(basename(arg), rule.extensions);
    return info;
  }
  return info;
}

// A 64-hex container id as the last element of a cgroup path, optionally with a runtime prefix
// (docker-, cri-containerd-, crio-, libpod-) and a `.scope` suffix.
const CONTAINER_ID = /(?:^|[/:-])([0-9a-f]{64})(?:\.scope)?(?=$|\/)/g;

/**
 * Finds the container id in /proc/PID/cgroup contents (cgroup v1 and v2, as seen from the host):
 * docker (`/docker/<id>`, `docker-<id>.scope`), containerd / Kubernetes (`cri-containerd-<id>.scope`,
 * `/kubepods/…/pod<uid>/<id>`), CRI-O (`crio-<id>.scope`), podman (`libpod-<id>.scope`).
 * podman's monitor (`libpod-conmon-<id>`) is not the container. Returns undefined outside containers.
 */
export function parseContainerId(cgroup: string): string | undefined {
  let found: string | undefined;
  for (const line of cgroup.split('\n')) {
    const parts = line.split(':');
    if (parts.length < 3) continue;
    const path = parts.slice(2).join(':');
    for (const m of path.matchAll(CONTAINER_ID)) {
      const before = path.slice(0, m.index);
      if (/conmon-?$/.test(before)) continue;
      found = m[1];
    }
    if (found) return found;
  }
  return found;
}

/**
 * Process start time (field 22 of /proc/PID/stat, in clock ticks since boot). Together with the pid
 * it identifies a process even when pids are reused. The command name (field 2) may contain spaces
 * and parentheses, so fields are counted from the last ')'.
 */
export function parseStatStartTime(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(' ');
  return fields[19]; // fields[0] is field 3 (state)
}
