/**
 * Shared helpers for kernel tests: whether bpf() can be used here, fd counting, and
 * scratch cgroups/namespaces that are always removed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'vitest';
import { inCI } from '../support/clang.js';
import { BpfCmd, MapCreateAttr } from '../../src/kernel/bpf-attr.js';
import { encodeStruct } from '../../src/kernel/layout.js';
import { native } from '../../src/kernel/native.js';
import { FP, ProgramBuilder, R0, R1, R2, reg, type Instruction } from '../../src/isa/index.js';

/** Can this process create a BPF map? (Loads the addon; false when it is missing.) */
export function bpfAvailable(): boolean {
  try {
    const n = native();
    const fd = n.bpf(BpfCmd.MAP_CREATE, encodeStruct(MapCreateAttr, { map_type: 2, key_size: 4, value_size: 4, max_entries: 1 }));
    if (fd < 0) return false;
    n.close(fd);
    return true;
  } catch {
    return false;
  }
}

/**
 * `describe` for tests that need the kernel: they run whenever bpf() works, and under
 * CI=true always (so a broken environment fails instead of skipping).
 */
export const describeKernel: typeof describe = inCI || bpfAvailable() ? describe : (describe.skip as typeof describe);

/** Open file descriptors of this process. */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** A little-endian u32 as 4 bytes. */
export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** A little-endian u64 as 8 bytes. */
export function u64(n: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

/** Read a little-endian u32 / u64 back. */
export function readU32(b: Uint8Array, at = 0): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
}
export function readU64(b: Uint8Array, at = 0): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at, true);
}

/** Where cgroup v2 is mounted (from /proc/mounts). */
export function cgroup2Mount(): string {
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, where, type] = line.split(' ');
    if (type === 'cgroup2' && where) return where;
  }
  throw new Error('no cgroup2 mount in /proc/mounts');
}

let scratchCount = 0;

/**
 * A child cgroup of our own under the cgroup2 mount (never the root cgroup), removed by
 * `remove()` (it must be empty by then: only short-lived children are moved into it).
 */
export function scratchCgroup(): { path: string; remove(): void } {
  const path = join(cgroup2Mount(), `bpfkit-test-${process.pid}-${scratchCount++}`);
  mkdirSync(path);
  return {
    path,
    remove() {
      if (existsSync(path)) rmdirSync(path);
    },
  };
}

/** Run a shell command in a child process that first moves itself into `cgroup`. */
export function runInCgroup(cgroup: string, command: string): string {
  const r = spawnSync('sh', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec ${command}`], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`;
}

/**
 * A network namespace with a veth pair: `outside` stays in this namespace (10.213.N.1/30),
 * `inside` moves into the namespace (10.213.N.2/30). `remove()` deletes both.
 */
export function scratchVeth(): { netns: string; outside: string; inside: string; outsideIp: string; insideIp: string; remove(): void } {
  const n = (process.pid + scratchCount++) % 250;
  const netns = `bpfkit-${process.pid}-${n}`;
  const outside = `bk${process.pid % 100000}o${n}`.slice(0, 15);
  const inside = `bk${process.pid % 100000}i${n}`.slice(0, 15);
  const outsideIp = `10.213.${n}.1`;
  const insideIp = `10.213.${n}.2`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  ip('netns', 'add', netns);
  try {
    ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
    ip('link', 'set', inside, 'netns', netns);
    ip('addr', 'add', `${outsideIp}/30`, 'dev', outside);
    ip('link', 'set', outside, 'up');
    ip('netns', 'exec', netns, 'ip', 'addr', 'add', `${insideIp}/30`, 'dev', inside);
    ip('netns', 'exec', netns, 'ip', 'link', 'set', inside, 'up');
    ip('netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up');
  } catch (error) {
    spawnSync('ip', ['link', 'del', outside]);
    spawnSync('ip', ['netns', 'del', netns]);
    throw error;
  }
  return {
    netns,
    outside,
    inside,
    outsideIp,
    insideIp,
    remove() {
      spawnSync('ip', ['link', 'del', outside]);
      spawnSync('ip', ['netns', 'del', netns]);
    },
  };
}

/** Send `count` UDP datagrams from inside `netns` to `ip:port`. */
export function sendUdpFrom(netns: string, ip: string, port: number, count: number): void {
  const script = `import socket\ns=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range(${count}): s.sendto(b'x'*32, ('${ip}', ${port}))`;
  execFileSync('ip', ['netns', 'exec', netns, 'python3', '-c', script], { stdio: 'pipe' });
}

/**
 * A test program that adds 1 to the u64 at index `slot` of an array map (by fd), then
 * returns `retval`: the kernel tests' way to see that a hook ran.
 */
export function countingProgram(counterFd: number, slot: number, retval: number): Instruction[] {
  return new ProgramBuilder()
    .store(4, FP, -4, slot)
    .lddwPseudo(R1, 'map_fd', counterFd)
    .mov64(R2, reg(FP))
    .alu64('add', R2, -4)
    .call(1) // bpf_map_lookup_elem
    .jump('eq', R0, 0, 'out')
    .mov64(R1, 1)
    .atomic('add', 8, R0, 0, R1)
    .label('out')
    .mov64(R0, retval)
    .exit()
    .build();
}

/**
 * Does this kernel refuse BPF trampoline programs (fentry, fexit, fmod_ret, lsm,
 * freplace)? Decided up front from the kernel's lockdown mode (securityfs, mounted for
 * the read when it is not), not from the refusal itself, so a test can demand the one
 * outcome this machine must give: measured here, lockdown "integrity" from the kernel
 * configuration makes every such load fail with EPERM before the verifier runs.
 */
export const trampolinesRefused: boolean = (() => {
  const dir = '/sys/kernel/security';
  const file = join(dir, 'lockdown');
  let mounted = false;
  try {
    if (!existsSync(file)) {
      execFileSync('mount', ['-t', 'securityfs', 'securityfs', dir], { stdio: 'ignore' });
      mounted = true;
    }
    const mode = /\[(\w+)\]/.exec(readFileSync(file, 'utf8'))?.[1];
    return mode !== undefined && mode !== 'none';
  } catch {
    return false; // no lockdown LSM (or no securityfs): trampolines must load
  } finally {
    if (mounted) execFileSync('umount', [dir], { stdio: 'ignore' });
  }
})();
