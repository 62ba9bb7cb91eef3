// Service identity for captured processes: the telemetry layer's /proc-based resolver, plus the
// kernel's task name (comm) from the connect record as a fallback for processes that exited before
// /proc could be read (curl, cron jobs: their exchange completes as they exit).
import type { Resource } from '../../pdata/model.js';
import { ServiceIdentityResolver, type ServiceIdentity, type ServiceIdentitySource } from '../../../telemetry/index.js';

const MAX_COMMS = 4096;
const UNKNOWN = 'unknown_service:';

export class CapturedProcessIdentity implements ServiceIdentitySource {
  private readonly comms = new Map<number, string>();
  private readonly named = new Map<string, ServiceIdentity>();

  constructor(private readonly resolver: ServiceIdentitySource = new ServiceIdentityResolver()) {}

  /** A connection of `pid` opened: resolve its identity now, while the process is alive, and remember the kernel's name for it. */
  seen(pid: number, comm: string | undefined): void {
    if (comm) {
      if (this.comms.size >= MAX_COMMS && !this.comms.has(pid)) this.comms.delete(this.comms.keys().next().value!);
      this.comms.set(pid, comm);
    }
    this.resolver.identify(pid);
  }

  identify(pid: number): ServiceIdentity {
    const id = this.resolver.identify(pid);
    const comm = this.comms.get(pid);
    if (!id.serviceName.startsWith(UNKNOWN) || comm === undefined) return id;
    let named = this.named.get(id.key);
    if (!named) {
      const resource: Resource = { ...id.resource, attributes: { ...id.resource.attributes, 'service.name': comm, 'process.executable.name': comm } };
      named = { key: id.key, serviceName: comm, resource };
      if (this.named.size >= MAX_COMMS) this.named.delete(this.named.keys().next().value!);
      this.named.set(id.key, named);
    }
    return named;
  }
}
