/**
 * bpffs, where pins live. A fresh machine may not have it mounted at /sys/fs/bpf; as
 * bpftool does, bpfkit mounts it there on demand before pinning under it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The conventional bpffs mount point. */
export const BPFFS_ROOT = '/sys/fs/bpf';

/** A directory that cannot hold pins, and why. */
export class BpffsError extends Error {
  override readonly name = 'BpffsError';
}

/** Is `path` inside a bpffs mount? */
export function onBpffs(path: string): boolean {
  const abs = resolve(path);
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .some(([, mnt, type]) => {
      if (type !== 'bpf' || mnt === undefined) return false;
      const at = mnt.replace(/\\040/g, ' ');
      return abs === at || abs.startsWith(at.endsWith('/') ? at : `${at}/`);
    });
}

/**
 * Make `dir` a directory on bpffs, ready for pins: mounts bpffs at /sys/fs/bpf when `dir`
 * is under it and nothing is mounted there yet, then creates `dir`.
 * @throws BpffsError when `dir` is elsewhere and not on bpffs, or mounting fails.
 */
export function ensureBpffsDirectory(dir: string): void {
  if (!onBpffs(dir)) {
    const abs = resolve(dir);
    if (abs !== BPFFS_ROOT && !abs.startsWith(`${BPFFS_ROOT}/`)) {
      throw new BpffsError(`${dir} is not on a bpffs mount: choose a directory under ${BPFFS_ROOT}`);
    }
    if (!existsSync(BPFFS_ROOT)) mkdirSync(BPFFS_ROOT, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'bpf', 'bpf', BPFFS_ROOT], { stdio: 'pipe' });
    } catch (e) {
      throw new BpffsError(`bpffs is not mounted at ${BPFFS_ROOT} and mounting it failed (needs root): ${(e as Error).message.trim()}`);
    }
  }
  mkdirSync(dir, { recursive: true });
}
