// User-space fallbacks for who owns a socket when the kernel could not tell (a server whose first
// response left from softirq, a connection that never carried payload): listening port → pid via
// /proc/net/tcp{,6} (socket inode) and /proc/*/fd (who holds that inode). Scans are cached and
// rate-limited because walking every fd on the host is expensive.
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

/** socket inode → pid, for every process we can see. */
function socketOwners(): Map<string, number> {
  const owners = new Map<string, number>();
  for (const entry of readdirSync('/proc')) {
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
      if (target.startsWith('socket:[')) {
        const inode = target.slice(8, -1);
        if (!owners.has(inode)) owners.set(inode, Number(entry));
      }
    }
  }
  return owners;
}

export class ProcessLookup {
  private listenCache = new Map<number, number | undefined>();
  private listenCacheAt = -Infinity;
  private readonly commCache = new Map<number, string | undefined>();

  /**
   * @param missRescanMs a port missing from the map triggers a rescan at most this often
   * @param maxAgeMs a port found in the map is trusted this long (listeners come and go)
   */
  constructor(private readonly missRescanMs = 1000, private readonly maxAgeMs = 5000) {}

  /** The pid of a process listening on TCP `port`, or undefined. */
  pidForListeningPort(port: number): number | undefined {
    const now = Date.now();
    const age = now - this.listenCacheAt;
    const cached = this.listenCache.get(port);
    if (cached !== undefined ? age < this.maxAgeMs : age < this.missRescanMs) return cached;
    this.listenCacheAt = now;
    const inodes = listeningInodes();
    const owners = socketOwners();
    this.listenCache = new Map();
    for (const [p, list] of inodes) {
      const pid = list.map((i) => owners.get(i)).find((x) => x !== undefined);
      this.listenCache.set(p, pid);
    }
    return this.listenCache.get(port);
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
