// User-space fallbacks for who owns a socket when the kernel could not tell (a server whose first
// response left from softirq, a connection that never carried payload): listening port → pid via
// /proc/net/tcp{,6} (socket inode) and /proc/*/fd (who holds that inode). Scans are cached and
// rate-limited because both are expensive on a busy host.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

const TCP_LISTEN = '0A';

/** Local ports in LISTEN state → socket inodes, from /proc/net/tcp and /proc/net/tcp6. */
function listeningInodes(): Map<number, string[]> {
  const byPort = new Map<number, string[]>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // no IPv6 on this host
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (cols.length < 10 || cols[3] !== TCP_LISTEN) continue;
      const port = parseInt(cols[1]!.split(':')[1]!, 16);
      const list = byPort.get(port) ?? [];
      list.push(cols[9]!);
      byPort.set(port, list);
    }
  }
  return byPort;
}

/**
 * The pid holding any of `inodes` (socket inode → pid for those found). Stops as soon as all are
 * found: the walk over every fd of every process is what makes this lookup expensive.
 */
function socketOwners(inodes: ReadonlySet<string>): Map<string, number> {
  const owners = new Map<string, number>();
  for (const entry of readdirSync('/proc')) {
    if (owners.size === inodes.size) break;
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // exited, or not ours to read
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!target.startsWith('socket:[')) continue;
      const inode = target.slice(8, -1);
      if (inodes.has(inode) && !owners.has(inode)) owners.set(inode, Number(entry));
    }
  }
  return owners;
}

/**
 * Listening port → pid from /proc, for the sockets the kernel could not attribute. Both sources are
 * slow on a busy host (reading /proc/net/tcp walks every socket in the kernel: about 10 ms here with
 * little traffic; the fd walk visits every fd of every process), and the connection table asks on
 * every connection of the host, so: the listening table is re-read at most once per `rescanMs`
 * whatever is asked, and fds are walked only for listening sockets whose owner is not known yet,
 * stopping at the first match. A port that is not listening costs one Map lookup until the next
 * re-read.
 */
export class ProcessLookup {
  private listening = new Map<number, string[]>();
  private listeningAt = -Infinity;
  /** Owners of listening sockets (inode → pid); undefined: searched for and not visible. */
  private owners = new Map<string, number | undefined>();
  private readonly commCache = new Map<number, string | undefined>();
  /** Times /proc/net/tcp{,6} were read and /proc/<pid>/fd walked (for tests and self-metrics). */
  readonly scans = { listening: 0, fdWalks: 0 };

  /** @param rescanMs the listening table (and the owners found for it) is trusted this long */
  constructor(private readonly rescanMs = 5000) {}

  /** The pid of a process listening on TCP `port`, or undefined. */
  pidForListeningPort(port: number): number | undefined {
    const now = Date.now();
    if (now - this.listeningAt >= this.rescanMs) {
      this.listeningAt = now;
      this.listening = listeningInodes();
      this.scans.listening++;
      // Owners of sockets that still listen stay valid (the inode is the same socket); forget the
      // rest, and search again for owners that were not visible.
      const live = new Set([...this.listening.values()].flat());
      for (const [inode, pid] of this.owners) if (pid === undefined || !live.has(inode)) this.owners.delete(inode);
    }
    const inodes = this.listening.get(port);
    if (!inodes) return undefined;
    const unknown = new Set(inodes.filter((i) => !this.owners.has(i)));
    if (unknown.size > 0) {
      this.scans.fdWalks++;
      const found = socketOwners(unknown);
      for (const i of unknown) this.owners.set(i, found.get(i));
    }
    for (const i of inodes) {
      const pid = this.owners.get(i);
      if (pid !== undefined) return pid;
    }
    return undefined;
  }

  /** /proc/<pid>/comm (cached; call forget() when the pid is gone). */
  comm(pid: number): string | undefined {
    if (this.commCache.has(pid)) return this.commCache.get(pid);
    let name: string | undefined;
    try {
      name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      name = undefined;
    }
    if (this.commCache.size > 10_000) this.commCache.clear(); // bounded
    this.commCache.set(pid, name);
    return name;
  }

  forget(pid: number): void {
    this.commCache.delete(pid);
  }
}
