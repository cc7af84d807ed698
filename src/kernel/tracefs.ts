/** Tracepoint ids from tracefs, mounting it at /sys/kernel/tracing when it is not mounted. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const MOUNT_POINT = '/sys/kernel/tracing';

/** Where tracefs is mounted (mounting it when needed). @throws Error when it cannot be mounted. */
export function tracefsRoot(): string {
  const mounts = readFileSync('/proc/mounts', 'utf8');
  for (const line of mounts.split('\n')) {
    const [, where, type] = line.split(' ');
    if (type === 'tracefs' && where) return where;
  }
  try {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', MOUNT_POINT], { stdio: 'pipe' });
  } catch (cause) {
    throw new Error(`tracefs is not mounted and mounting it at ${MOUNT_POINT} failed (needs root)`, { cause });
  }
  return MOUNT_POINT;
}

/** The id of tracepoint `category/name` (e.g. "syscalls", "sys_enter_getpid"). */
export function tracepointId(category: string, name: string): number {
  const path = join(tracefsRoot(), 'events', category, name, 'id');
  if (!existsSync(path)) throw new Error(`no tracepoint ${category}/${name} on this kernel (${path} is missing)`);
  return Number(readFileSync(path, 'utf8').trim());
}
