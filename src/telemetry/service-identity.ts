// Service identity per process: the resource attributes every span and metric of a pid carries.
// Reads /proc (small synchronous reads, once per process and on revalidation); the parsing lives in
// process-info.ts as pure functions.
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname, release } from 'node:os';
import type { Attributes, Resource } from '../collector/pdata/model.js';
import { detectRuntime, parseCmdline, parseContainerId, parseOtelEnviron, parseResourceAttributes, parseStatStartTime } from './process-info.js';
import { sondeVersion } from './sonde-version.js';

export interface ServiceIdentity {
  /** Stable key of the process (pid + start time): groups its spans and metric series. */
  key: string;
  serviceName: string;
  resource: Resource;
}

/** What the telemetry layer needs to attach a resource to a pid. */
export interface ServiceIdentitySource {
  identify(pid: number): ServiceIdentity;
}

const SEMCONV_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm32', ia32: 'x86', ppc64: 'ppc64', s390x: 's390x' };

function readMachineId(): string | undefined {
  for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(file, 'utf8').trim();
      if (id) return id;
    } catch { /* try the next location */ }
  }
  return undefined;
}

/** Host attributes from node:os and /etc/machine-id (synchronous; used when nothing better was detected). */
export function basicHostAttributes(): Attributes {
  const attrs: Attributes = { 'host.name': hostname(), 'os.type': 'linux', 'os.version': release() };
  const id = readMachineId();
  if (id) attrs['host.id'] = id;
  const arch = SEMCONV_ARCH[process.arch];
  if (arch) attrs['host.arch'] = arch;
  return attrs;
}

/** Host attributes via systeminformation (adds the distribution as `os.description`). */
export async function detectHostAttributes(): Promise<Attributes> {
  const attrs = basicHostAttributes();
  try {
    const si = await import('systeminformation');
    const os = await si.osInfo();
    if (os.hostname) attrs['host.name'] = os.hostname;
    if (os.serial && attrs['host.id'] === undefined) attrs['host.id'] = os.serial;
    if (os.kernel) attrs['os.version'] = os.kernel;
    const description = [os.distro, os.release, os.codename ? `(${os.codename})` : ''].filter(Boolean).join(' ');
    if (description) attrs['os.description'] = description;
  } catch {
    // systeminformation failing only costs os.description; the basic attributes stand.
  }
  return attrs;
}

export interface ServiceIdentityOptions {
  /** Where /proc is mounted (a DaemonSet mounts the host's /proc elsewhere). Default '/proc'. */
  procRoot?: string;
  /** Host attributes added to every resource. Default: basicHostAttributes(). */
  hostAttributes?: Attributes;
  /** How long a cached identity is trusted before the pid's start time is checked again. Default 10 000 ms. */
  revalidateAfterMs?: number;
  /** Processes remembered; the oldest are forgotten first. Default 4096. */
  maxEntries?: number;
}

interface CacheEntry { identity: ServiceIdentity; startTime: string | undefined; checkedAtMs: number }

export interface ServiceIdentityStats {
  /** Identities built (new processes, or pid reuse detected). */
  resolved: number;
  /** /proc files that could not be read (process gone, permission denied). */
  procReadErrors: number;
}

/**
 * service.name order: the process's own OTEL_SERVICE_NAME, then service.name in its
 * OTEL_RESOURCE_ATTRIBUTES, then the script an interpreter runs, then the executable's name, then
 * /proc/PID/comm. service.instance.id is `<host.name>:<pid>`.
 */
export class ServiceIdentityResolver implements ServiceIdentitySource {
  private readonly cache = new Map<number, CacheEntry>();
  private readonly procRoot: string;
  private readonly host: Attributes;
  private readonly revalidateAfterMs: number;
  private readonly maxEntries: number;
  readonly stats: ServiceIdentityStats = { resolved: 0, procReadErrors: 0 };

  constructor(options: ServiceIdentityOptions = {}) {
    this.procRoot = options.procRoot ?? '/proc';
    this.host = options.hostAttributes ?? basicHostAttributes();
    this.revalidateAfterMs = options.revalidateAfterMs ?? 10_000;
    this.maxEntries = options.maxEntries ?? 4096;
  }

  identify(pid: number): ServiceIdentity {
    const now = Date.now();
    const cached = this.cache.get(pid);
    if (cached) {
      if (now - cached.checkedAtMs < this.revalidateAfterMs) return cached.identity;
      const startTime = this.readStartTime(pid);
      // A vanished process keeps its identity: its last exchanges still belong to it.
      if (startTime === undefined || startTime === cached.startTime) {
        cached.checkedAtMs = now;
        return cached.identity;
      }
    }
    const startTime = this.readStartTime(pid);
    const identity = this.build(pid, startTime);
    this.cache.delete(pid);
    this.cache.set(pid, { identity, startTime, checkedAtMs: now });
    if (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.stats.resolved++;
    return identity;
  }

  private read(pid: number, file: string): Buffer | undefined {
    try {
      return readFileSync(`${this.procRoot}/${pid}/${file}`);
    } catch {
      this.stats.procReadErrors++;
      return undefined;
    }
  }

  private readStartTime(pid: number): string | undefined {
    const stat = this.read(pid, 'stat');
    return stat ? parseStatStartTime(stat.toString('utf8')) : undefined;
  }

  private build(pid: number, startTime: string | undefined): ServiceIdentity {
    const environ = this.read(pid, 'environ');
    const otelEnv = environ ? parseOtelEnviron(environ) : new Map<string, string>();
    const fromEnv = parseResourceAttributes(otelEnv.get('OTEL_RESOURCE_ATTRIBUTES') ?? '');

    let exePath: string | undefined;
    try {
      exePath = readlinkSync(`${this.procRoot}/${pid}/exe`);
      if (exePath.endsWith(' (deleted)')) exePath = exePath.slice(0, -' (deleted)'.length);
    } catch {
      this.stats.procReadErrors++;
    }
    const comm = this.read(pid, 'comm')?.toString('utf8').trim();
    const exeName = exePath ? exePath.slice(exePath.lastIndexOf('/') + 1) : comm;
    const cmdline = this.read(pid, 'cmdline');
    const runtime = detectRuntime(cmdline ? parseCmdline(cmdline) : [], exeName ?? '');

    const serviceName = otelEnv.get('OTEL_SERVICE_NAME')?.trim() || fromEnv.get('service.name')
      || runtime.scriptName || exeName || `unknown_service:${pid}`;

    const attrs: Attributes = { ...this.host };
    // The process's own resource attributes, as its SDK would have reported them.
    for (const [k, v] of fromEnv) attrs[k] = v;
    attrs['service.name'] = serviceName;
    attrs['service.instance.id'] = `${String(this.host['host.name'] ?? hostname())}:${pid}`;
    attrs['process.pid'] = pid;
    if (exeName) attrs['process.executable.name'] = exeName;
    if (exePath) attrs['process.executable.path'] = exePath;
    if (runtime.runtimeName) attrs['process.runtime.name'] = runtime.runtimeName;
    const cgroup = this.read(pid, 'cgroup');
    const containerId = cgroup ? parseContainerId(cgroup.toString('utf8')) : undefined;
    if (containerId) attrs['container.id'] = containerId;
    attrs['telemetry.sdk.name'] = 'sonde';
    attrs['telemetry.sdk.version'] = sondeVersion();
    if (runtime.language) attrs['telemetry.sdk.language'] = runtime.language;

    return { key: `${pid}:${startTime ?? '?'}`, serviceName, resource: { attributes: attrs, droppedAttributesCount: 0 } };
  }
}
