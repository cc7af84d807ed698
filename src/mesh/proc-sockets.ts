/**
 * The established TCP sockets held by the processes of a cgroup subtree, found through
 * /proc: each process's fds (socket inodes) and its network namespace's TCP tables
 * (/proc/PID/net/tcp and tcp6, which give state and addresses by inode). Read-only.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** One established TCP socket and a process fd that refers to it. */
export interface ProcSocket {
  inode: number;
  pid: number;
  fd: number;
  /** 4, or 6 (a v4-mapped IPv6 socket whose two ends are both IPv4 counts as 4, as in mesh.c). */
  family: 4 | 6;
  /** Network order bytes: 4 for IPv4, 16 for IPv6. */
  localIp: Uint8Array;
  localPort: number;
  remoteIp: Uint8Array;
  remotePort: number;
}

const TCP_ESTABLISHED = 1;

/** Every pid in `cgroup` and the cgroups below it. */
export function cgroupPids(cgroup: string): number[] {
  const pids: number[] = [];
  const walk = (dir: string): void => {
    let text = '';
    try {
      text = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
    } catch {
      return; // removed meanwhile
    }
    for (const line of text.split('\n')) if (line) pids.push(Number(line));
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of entries) {
      const sub = join(dir, name);
      try {
        if (statSync(sub).isDirectory()) walk(sub);
      } catch {
        // gone
      }
    }
  };
  walk(cgroup);
  return pids;
}

/** Socket inodes → one (pid, fd) each, over `pids`; processes that exit meanwhile are skipped. */
function socketFds(pids: readonly number[]): Map<number, { pid: number; fd: number }> {
  const out = new Map<number, { pid: number; fd: number }>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target = '';
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && !out.has(Number(m[1]))) out.set(Number(m[1]), { pid, fd: Number(fd) });
    }
  }
  return out;
}

/** Parse one address of /proc/net/tcp{,6}: hex words in host (little-endian) order, then the port. */
function parseAddress(text: string): { ip: Uint8Array; port: number } {
  const [hex, port] = text.split(':') as [string, string];
  const ip = new Uint8Array(hex.length / 2);
  for (let word = 0; word < hex.length / 8; word++) {
    const value = parseInt(hex.slice(word * 8, word * 8 + 8), 16);
    new DataView(ip.buffer).setUint32(word * 4, value, true);
  }
  return { ip, port: parseInt(port, 16) };
}

const isV4Mapped = (ip: Uint8Array): boolean => ip.length === 16 && ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;

interface TableEntry {
  family: 4 | 6;
  local: { ip: Uint8Array; port: number };
  remote: { ip: Uint8Array; port: number };
}

/** Established entries of one netns's TCP tables (seen through `pid`), by inode. */
function establishedByInode(pid: number): Map<number, TableEntry> {
  const out = new Map<number, TableEntry>();
  for (const [file, family] of [['tcp', 4], ['tcp6', 6]] as const) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || parseInt(f[3]!, 16) !== TCP_ESTABLISHED) continue;
      let local = parseAddress(f[1]!);
      let remote = parseAddress(f[2]!);
      let fam: 4 | 6 = family;
      if (family === 6 && isV4Mapped(local.ip) && isV4Mapped(remote.ip)) {
        fam = 4;
        local = { ip: local.ip.slice(12), port: local.port };
        remote = { ip: remote.ip.slice(12), port: remote.port };
      }
      out.set(Number(f[9]), { family: fam, local, remote });
    }
  }
  return out;
}

/**
 * The established TCP sockets that processes in `cgroup` (and below) hold, except those
 * of `skipPids`. A socket is reported once, with the first (pid, fd) that holds it.
 */
export function establishedSocketsInCgroup(cgroup: string, skipPids: readonly number[] = [process.pid]): ProcSocket[] {
  const pids = cgroupPids(cgroup).filter((p) => !skipPids.includes(p));
  const fds = socketFds(pids);
  // One TCP table read per network namespace.
  const tables = new Map<string, Map<number, TableEntry>>();
  const out: ProcSocket[] = [];
  const seen = new Set<number>();
  for (const pid of new Set([...fds.values()].map((v) => v.pid))) {
    let netns = '';
    try {
      netns = readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
      continue;
    }
    if (!tables.has(netns)) tables.set(netns, establishedByInode(pid));
  }
  for (const table of tables.values()) {
    for (const [inode, entry] of table) {
      const holder = fds.get(inode);
      if (!holder || seen.has(inode)) continue;
      seen.add(inode);
      out.push({ inode, pid: holder.pid, fd: holder.fd, family: entry.family, localIp: entry.local.ip, localPort: entry.local.port, remoteIp: entry.remote.ip, remotePort: entry.remote.port });
    }
  }
  return out;
}
