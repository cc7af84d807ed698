/**
 * What the host must offer the agent: privileges, a bpffs mount for the pins, and the
 * cgroup v2 mount. Each check fails with a message that says what to do.
 */
import { BpffsError, ensureBpffsDirectory } from '../kernel/bpffs.js';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** Capabilities the bypass needs, by bit number (linux/capability.h). */
const NEEDED_CAPS = [
  { bit: 21, name: 'CAP_SYS_ADMIN', why: 'attach to cgroups and mount bpffs' },
  { bit: 12, name: 'CAP_NET_ADMIN', why: 'sockmap programs and sock_ops' },
  { bit: 39, name: 'CAP_BPF', why: 'create maps and load programs' },
] as const;

/** The agent cannot run on this host as it is. */
export class MeshHostError extends Error {
  override readonly name = 'MeshHostError';
}

/** Effective capabilities of this process, from /proc/self/status. */
function effectiveCaps(): bigint {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapEff:'));
  return line ? BigInt('0x' + line.slice('CapEff:'.length).trim()) : 0n;
}

/** @throws MeshHostError naming every missing capability and what it is for. */
export function checkPrivileges(caps: bigint = effectiveCaps()): void {
  const missing = NEEDED_CAPS.filter((c) => (caps & (1n << BigInt(c.bit))) === 0n);
  if (missing.length === 0) return;
  throw new MeshHostError(
    `bpfkit mesh needs root: missing ${missing.map((c) => `${c.name} (to ${c.why})`).join(', ')}. Run it as root (sudo) or grant these capabilities.`,
  );
}

interface Mount {
  type: string;
  path: string;
}

function mounts(): Mount[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' '))
    .map(([, path, type]) => ({ type: type!, path: path!.replace(/\\040/g, ' ') }));
}

/** The cgroup v2 mount point (e.g. /sys/fs/cgroup or /sys/fs/cgroup/unified). */
export function cgroup2Root(): string {
  const m = mounts().find((x) => x.type === 'cgroup2');
  if (!m) throw new MeshHostError('no cgroup v2 mount found in /proc/mounts: mount one (mount -t cgroup2 none /sys/fs/cgroup)');
  return m.path;
}

/**
 * Make sure `pinRoot` exists on a bpffs mount, mounting bpffs at /sys/fs/bpf when a
 * fresh machine has none (pins need it).
 */
export function ensurePinRoot(pinRoot: string): void {
  try {
    ensureBpffsDirectory(pinRoot);
  } catch (e) {
    if (e instanceof BpffsError) throw new MeshHostError(`pin root ${e.message}`);
    throw e;
  }
}

/** @throws MeshHostError unless `path` is a cgroup v2 directory. */
export function checkCgroup(path: string): string {
  const abs = resolve(path);
  if (!existsSync(`${abs}/cgroup.procs`)) {
    throw new MeshHostError(`--cgroup ${path} is not a cgroup v2 directory (no cgroup.procs there); the cgroup2 mount is ${cgroup2Root()}`);
  }
  return abs;
}
