/**
 * Once per test run: make sure the kernel filesystems the kernel tests use are mounted.
 * A fresh machine may have neither bpffs at /sys/fs/bpf (pins) nor tracefs (tracepoint
 * ids); bpftool mounts bpffs on demand too. Without root this does nothing, and the
 * kernel tests say what is missing themselves.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';

function mounted(type: string, at: string): boolean {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((l) => {
      const [, mnt, fstype] = l.split(' ');
      return mnt === at && fstype === type;
    });
}

function ensureMounted(type: string, at: string): void {
  if (mounted(type, at)) return;
  try {
    if (!existsSync(at)) mkdirSync(at, { recursive: true });
    execFileSync('mount', ['-t', type, type, at], { stdio: 'pipe' });
  } catch {
    // Not root, or no such filesystem: the tests that need it report it.
  }
}

export default function setup(): void {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return;
  ensureMounted('bpf', '/sys/fs/bpf');
  ensureMounted('tracefs', '/sys/kernel/tracing');
}
