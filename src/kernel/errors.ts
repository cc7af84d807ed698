/**
 * Typed errors for failed syscalls. The message says what failed, the errno, and what to
 * do about it; `errno`/`code` let callers branch without parsing text.
 */
import { bpfCmdName } from './bpf-attr.js';
import { Errno, errnoName } from './errno.js';

/** What the failing call was about, for the hint (e.g. the map's name and type). */
export interface ErrorContext {
  /** "map counters (hash)", "program xdp_pass" ... */
  subject?: string;
  /** A sentence that explains this errno for this call better than the generic hint. */
  hint?: string;
}

/** A bpf() (or related) syscall failed. */
export class BpfError extends Error {
  /** Positive errno. */
  readonly errno: number;
  /** 'EPERM', 'EINVAL', ... */
  readonly code: string;
  /** 'MAP_CREATE', 'PROG_LOAD', 'perf_event_open', ... */
  readonly command: string;

  constructor(command: string, errno: number, context: ErrorContext = {}, detail = '') {
    const code = errnoName(errno);
    const what = context.subject ? `${command} ${context.subject}` : command;
    const hint = context.hint ?? genericHint(command, Math.abs(errno));
    super(`${what} failed: ${code}${hint ? ` — ${hint}` : ''}${detail}`);
    this.name = 'BpfError';
    this.errno = Math.abs(errno);
    this.code = code;
    this.command = command;
  }
}

/** The kernel's verifier rejected a program; `log` holds its whole log. */
export class VerifierError extends BpfError {
  /** The full verifier log. */
  readonly log: string;
  /** The last source line the log names (from line info), when there is one. */
  readonly sourceLine: string | undefined;

  constructor(errno: number, context: ErrorContext, log: string) {
    const sourceLine = lastSourceLine(log);
    const tail = lastLines(log, 12);
    super('PROG_LOAD', errno, context, `${sourceLine ? `\nat: ${sourceLine}` : ''}${tail ? `\nverifier log (end):\n${tail}` : ''}`);
    this.name = 'VerifierError';
    this.log = log;
    this.sourceLine = sourceLine;
  }
}

/** Throw a BpfError for a negative syscall result. */
export function fail(command: number | string, result: number, context?: ErrorContext): never {
  throw new BpfError(typeof command === 'number' ? bpfCmdName(command) : command, -result, context);
}

function genericHint(command: string, errno: number): string {
  switch (errno) {
    case Errno.EPERM:
    case Errno.EACCES:
      return command === 'PROG_LOAD'
        ? 'needs root or CAP_BPF (+CAP_PERFMON for tracing, CAP_NET_ADMIN for networking programs); with those, EACCES also means the verifier refused the program'
        : 'needs root or CAP_BPF (CAP_SYS_ADMIN on older kernels; CAP_NET_ADMIN for networking attach points); check kernel.unprivileged_bpf_disabled and lockdown';
    case Errno.E2BIG:
      return command.startsWith('MAP_UPDATE')
        ? 'the map is full (max_entries reached)'
        : 'a size is over the kernel limit (key/value size, max_entries, instruction count 1M, or non-zero bytes past the fields this kernel knows)';
    case Errno.ENOSPC:
      return command === 'PROG_LOAD' || command === 'BTF_LOAD'
        ? 'the log buffer was too small'
        : 'no room left (log buffer, or the map or attach point is full)';
    case Errno.EINVAL:
      return 'the kernel rejected an argument: check the type, sizes and flags for this object (a field or flag this kernel does not support also gives EINVAL)';
    case Errno.ENOMEM:
      return 'the kernel could not allocate memory for it (RLIMIT_MEMLOCK on kernels before 5.11, or the memory cgroup limit)';
    case Errno.EBADF:
      return 'a file descriptor passed is closed or of the wrong kind';
    case Errno.ENOENT:
      return 'not found (no such element, id or pin path)';
    case Errno.EEXIST:
      return 'it already exists (BPF_NOEXIST on an existing key, or a pin path in use)';
    case Errno.EOPNOTSUPP:
    case Errno.ENOTSUPP:
      return 'this kernel or this object type does not support the operation';
    case Errno.EBUSY:
      return 'the target is busy (something else is attached there, or the map is frozen or being written)';
    case Errno.EFAULT:
      return 'the kernel could not read or write a user buffer (a bpfkit bug: please report it)';
    case Errno.EMFILE:
    case Errno.ENFILE:
      return 'too many open file descriptors (raise RLIMIT_NOFILE, or close unused objects)';
    default:
      return '';
  }
}

/** The source line the log shows last: line info lines start with "; ". */
function lastSourceLine(log: string): string | undefined {
  const lines = log.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (line.startsWith('; ')) return line.slice(2).trim();
  }
  return undefined;
}

function lastLines(text: string, n: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-n).join('\n');
}
