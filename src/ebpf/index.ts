// The eBPF layer's public surface for src/capture and the commands.
export { CaptureProbes, type CaptureOptions, type ProbeStats, type AttachedProgram } from './probes.js';
export {
  type CaptureEvent, type ConnectionEvent, type PayloadEvent, type PayloadExtent, type ProbeConfig, type TcpState, TCP_STATES, formatAddress,
} from './layout.js';
export { BpfError } from './errors.js';
export { listLoadedPrograms, listLinkIds, type LoadedProgram } from './introspect.js';
export { cgroup2Root, ensureTracefs, tracefsMounted } from './host.js';
