/**
 * Once per test run: mount the kernel filesystems the kernel tests use, and (under
 * CI=true) fail the run if the tests leave anything behind on the machine — a pin
 * under /sys/fs/bpf, a child cgroup, a network namespace or a program attached to a
 * cgroup. A fresh machine may have neither bpffs at /sys/fs/bpf (pins) nor tracefs
 * (tracepoint ids); bpftool mounts bpffs on demand too. Without root this does nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';

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

function cgroup2Root(): string | undefined {
  for (const l of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, mnt, fstype] = l.split(' ');
    if (fstype === 'cgroup2') return mnt;
  }
  return undefined;
}

/** What a test could leave behind, as comparable strings. */
function leftovers(): Set<string> {
  const out = new Set<string>();
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  for (const e of list('/sys/fs/bpf')) out.add(`pin /sys/fs/bpf/${e}`);
  const root = cgroup2Root();
  if (root) {
    for (const e of list(root)) if (existsSync(`${root}/${e}/cgroup.procs`)) out.add(`cgroup ${root}/${e}`);
    try {
      const tree = execFileSync('bpftool', ['cgroup', 'tree', root], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
      for (const l of tree.split('\n')) if (/^\s*\d+\s+\w/.test(l) || l.startsWith('/')) out.add(`attached ${l.trim()}`);
    } catch {
      // bpftool missing: pins, cgroups and namespaces are still checked.
    }
  }
  for (const e of list('/run/netns')) out.add(`netns ${e}`);
  return out;
}

let before = new Set<string>();

export default function setup(): (() => void) | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  ensureMounted('bpf', '/sys/fs/bpf');
  ensureMounted('tracefs', '/sys/kernel/tracing');
  before = leftovers();
  return () => {
    if (process.env.CI !== 'true') return;
    const left = [...leftovers()].filter((x) => !before.has(x));
    if (left.length) throw new Error(`the tests left these behind (a test must clean up after itself):\n  ${left.join('\n  ')}`);
  };
}
