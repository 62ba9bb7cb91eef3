// Errors from the eBPF layer say what failed and what a person can do about it.

export class BpfError extends Error {
  /** What to do about it, in words a person can act on. */
  readonly remedy: string;
  /** errno when a kernel/libbpf call failed. */
  readonly errno?: number;
  /** Relevant verifier log lines when the kernel rejected a program. */
  readonly verifierLog?: string;

  constructor(what: string, remedy: string, opts: { errno?: number; verifierLog?: string; cause?: unknown } = {}) {
    const log = opts.verifierLog ? `\n--- verifier log (last lines) ---\n${opts.verifierLog}` : '';
    super(`${what}\n  fix: ${remedy}${log}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'BpfError';
    this.remedy = remedy;
    this.errno = opts.errno;
    this.verifierLog = opts.verifierLog;
  }
}

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 7: 'E2BIG', 9: 'EBADF', 12: 'ENOMEM', 13: 'EACCES', 16: 'EBUSY', 22: 'EINVAL',
  28: 'ENOSPC', 95: 'EOPNOTSUPP', 524: 'ENOTSUPP',
};

export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  return `${ERRNO_NAMES[n] ?? 'errno'} ${n}`;
}
