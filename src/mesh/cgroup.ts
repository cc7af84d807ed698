/**
 * Scratch cgroups and moving this process between cgroups. A socket belongs to the
 * cgroup of the task that created it, for life, so the probe moves itself into its
 * private cgroup only while it creates sockets and moves back right after.
 */
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroup2Root } from './host.js';

/** This process's cgroup v2 directory. */
export function ownCgroup(): string {
  const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
  return join(cgroup2Root(), line ? line.slice(3) : '/');
}

/** Move process `pid` (default: this one) into `cgroup`. */
export function moveToCgroup(cgroup: string, pid = process.pid): void {
  writeFileSync(join(cgroup, 'cgroup.procs'), String(pid));
}

/** A child cgroup under the cgroup2 root, removed by close() (after moving any of our processes out). */
export class ScratchCgroup implements Disposable {
  readonly path: string;

  constructor(name: string) {
    this.path = join(cgroup2Root(), name);
    mkdirSync(this.path, { recursive: true });
  }

  /** Run `create` with this process inside the cgroup, then move back. */
  async inside<T>(create: () => Promise<T>): Promise<T> {
    const home = ownCgroup();
    moveToCgroup(this.path);
    try {
      return await create();
    } finally {
      moveToCgroup(home);
    }
  }

  close(): void {
    try {
      rmdirSync(this.path);
    } catch {
      // EBUSY: a process is still inside. Nothing of ours should be; leave it rather than fail teardown.
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
