/**
 * Taking in connections that were established before the agent started. sock_ops only
 * sees handshakes, so the agent finds these itself: the established TCP sockets held by
 * processes in the cgroup (/proc), duplicated into the agent with pidfd_getfd, their
 * handshake sequence numbers read by the mesh_scan iterator, and paired exactly as
 * sock_ops pairs new ones (by the numbers the kernel chose, so NAT and namespaces cannot
 * mislead it). Both sockets of a pair whose policy allows it are inserted from user
 * space into mesh_picked_socks in state "picked": each direction starts redirecting
 * only once none of its bytes is in flight or unread and no receive call that began
 * before is still running (mesh.c's may_start_redirect), so order is kept and no
 * reader waits where the bytes never come.
 */
import type { KernelMap } from '../kernel/map.js';
import { attachIterator } from '../kernel/iterator.js';
import type { KernelCollection } from '../kernel/collection.js';
import { closeFd } from '../kernel/link.js';
import { ProcessHandle, socketCookie } from '../kernel/process-fd.js';
import { AF_INET, AF_INET6, ConnFlags, ConnRole, ConnState, MeshConnLayout, MeshScanRecordLayout } from './layout.js';
import type { MeshMaps } from './maps.js';
import { establishedSocketsInCgroup, type ProcSocket } from './proc-sockets.js';

/** What a pickup did. */
export interface PickupReport {
  /** Established TCP sockets held by processes in the cgroup and not yet known to the bypass. */
  candidates: number;
  /** Connections (socket pairs) taken in. */
  pickedUp: number;
  /** Pairs the policy keeps out. */
  policySkipped: number;
  /** MPTCP subflows left alone. */
  mptcpSkipped: number;
  /** Sockets whose peer is not among the candidates (another host, or outside the cgroup). */
  unpaired: number;
  /** Why sockets could not be taken in (e.g. "pid 42 fd 7: EPERM"). */
  failures: string[];
}

const TCP_ESTABLISHED = 1;

interface ScanRecord {
  cookie: bigint;
  psock: bigint;
  tcpState: number;
  isMptcp: boolean;
  ackedBaseSeq: number;
  peerNextSeq: number;
}

interface Candidate extends ProcSocket {
  /** Our duplicate of the socket. */
  dupFd: number;
  cookie: bigint;
  scan?: ScanRecord;
}

const cookieKey = (cookie: bigint): Uint8Array => {
  const key = new Uint8Array(8);
  new DataView(key.buffer).setBigUint64(0, cookie, true);
  return key;
};

const fdKey = (fd: number): Uint8Array => {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setInt32(0, fd, true);
  return key;
};

/** Duplicate each candidate's socket into this process; failures are reported, not thrown. */
function duplicate(sockets: readonly ProcSocket[], failures: string[]): Candidate[] {
  const handles = new Map<number, ProcessHandle | undefined>();
  const out: Candidate[] = [];
  try {
    for (const s of sockets) {
      if (!handles.has(s.pid)) handles.set(s.pid, ProcessHandle.open(s.pid));
      const handle = handles.get(s.pid);
      if (handle === undefined) continue; // the process exited
      let dupFd: number | undefined;
      try {
        dupFd = handle.duplicate(s.fd);
      } catch (e) {
        failures.push(`pid ${s.pid} fd ${s.fd}: ${(e as Error).message}`);
      }
      if (dupFd === undefined) continue;
      const cookie = socketCookie(dupFd);
      if (cookie === undefined) {
        closeFd(dupFd);
        continue;
      }
      out.push({ ...s, dupFd, cookie });
    }
  } finally {
    for (const handle of handles.values()) handle?.close();
  }
  return out;
}

/** Run mesh_scan over the sockets now in mesh_scan_socks. */
function scan(collection: KernelCollection): ScanRecord[] {
  const map = collection.map('mesh_scan_socks');
  const info = new Uint8Array(4);
  new DataView(info.buffer).setUint32(0, map.fd, true);
  const link = attachIterator(collection.program('mesh_scan'), info);
  try {
    const bytes = link.readAll();
    const L = MeshScanRecordLayout;
    const out: ScanRecord[] = [];
    for (let off = 0; off + L.size <= bytes.length; off += L.size) {
      const v = new DataView(bytes.buffer, bytes.byteOffset + off, L.size);
      out.push({
        cookie: v.getBigUint64(L.cookie, true),
        psock: v.getBigUint64(L.psock, true),
        tcpState: v.getUint32(L.tcpState, true),
        isMptcp: v.getUint32(L.isMptcp, true) !== 0,
        ackedBaseSeq: v.getUint32(L.ackedBaseSeq, true),
        peerNextSeq: v.getUint32(L.peerNextSeq, true),
      });
    }
    return out;
  } finally {
    link.close();
  }
}

/** A mesh_conns record for one end of a picked-up pair. */
function record(self: Candidate, peer: Candidate, role: number, generation: number): Uint8Array {
  const L = MeshConnLayout;
  const out = new Uint8Array(L.size);
  const v = new DataView(out.buffer);
  v.setBigUint64(L.peerCookie, peer.cookie, true);
  v.setUint32(L.state, ConnState.PICKED, true);
  v.setUint32(L.role, role, true);
  v.setUint32(L.family, self.family === 4 ? AF_INET : AF_INET6, true);
  v.setUint32(L.localPort, self.localPort, true);
  v.setUint32(L.remotePort, self.remotePort, true);
  v.setUint32(L.policyGeneration, generation, true);
  v.setUint32(L.allowed, 1, true);
  v.setUint32(L.flags, ConnFlags.PICKED, true);
  out.set(self.localIp, L.localIp);
  out.set(self.remoteIp, L.remoteIp);
  return out;
}

/**
 * Take in the connections between processes of `cgroup` that were established before the
 * bypass was attached. Call after attaching (sock_ops handles every connection from then
 * on; those it knows are skipped here). Never throws for one socket's trouble: it is
 * left on TCP and reported.
 */
export function pickUpConnections(collection: KernelCollection, maps: MeshMaps, cgroup: string): PickupReport {
  const report: PickupReport = { candidates: 0, pickedUp: 0, policySkipped: 0, mptcpSkipped: 0, unpaired: 0, failures: [] };
  const known = maps.connectionRecords;
  const found = establishedSocketsInCgroup(cgroup);
  const candidates = duplicate(found, report.failures).filter((c) => {
    if (known.lookup(cookieKey(c.cookie)) === undefined) return true;
    closeFd(c.dupFd);
    return false;
  });
  report.candidates = candidates.length;
  if (candidates.length === 0) return report;

  const scanSocks: KernelMap = collection.map('mesh_scan_socks');
  const skCookie: KernelMap = collection.map('mesh_sk_cookie');
  const sockhash: KernelMap = maps.pickedSockhash;
  const inScan: Candidate[] = [];
  try {
    for (const c of candidates) {
      try {
        scanSocks.update(fdKey(c.dupFd), cookieKey(c.cookie));
        inScan.push(c);
      } catch (e) {
        report.failures.push(`socket ${c.cookie}: ${(e as Error).message}`);
      }
    }
    const byCookie = new Map(inScan.map((c) => [c.cookie, c]));
    for (const r of scan(collection)) {
      const c = byCookie.get(r.cookie);
      if (c) c.scan = r;
    }
    // Pair: server S and client C of one handshake satisfy
    // S.peerNext == C.ackedBase + 1 and C.peerNext == S.ackedBase (see mesh.h).
    const byAckedBase = new Map<number, Candidate[]>();
    const usable = inScan.filter((c) => c.scan && c.scan.tcpState === TCP_ESTABLISHED);
    for (const c of usable) {
      if (c.scan!.isMptcp) {
        report.mptcpSkipped++;
        continue;
      }
      const list = byAckedBase.get(c.scan!.ackedBaseSeq) ?? [];
      list.push(c);
      byAckedBase.set(c.scan!.ackedBaseSeq, list);
    }
    const paired = new Set<bigint>();
    const generation = maps.generation();
    for (const client of usable) {
      if (client.scan!.isMptcp || paired.has(client.cookie)) continue;
      const server = (byAckedBase.get(client.scan!.peerNextSeq) ?? []).find(
        (s) => s !== client && !paired.has(s.cookie) && s.scan!.peerNextSeq === ((client.scan!.ackedBaseSeq + 1) >>> 0),
      );
      if (!server) continue;
      paired.add(client.cookie).add(server.cookie);
      // The same verdicts sock_ops gives: the client judges the server address it dialled,
      // the server its own (after any NAT).
      if (!maps.allows(client.family, client.remoteIp, client.remotePort) || !maps.allows(server.family, server.localIp, server.localPort)) {
        report.policySkipped++;
        continue;
      }
      if (takeIn(client, server, generation, { known, skCookie, sockhash }, report.failures)) report.pickedUp++;
    }
    report.unpaired = usable.filter((c) => !c.scan!.isMptcp && !paired.has(c.cookie)).length;
    // A second pass lets mesh_scan fill in the psock addresses of the pairs just taken in.
    if (report.pickedUp > 0) scan(collection);
  } finally {
    for (const c of inScan) scanSocks.delete(fdKey(c.dupFd));
    for (const c of candidates) closeFd(c.dupFd);
  }
  return report;
}

/**
 * Insert one pair: records first (so the first send finds them), then the server socket,
 * then the client. A socket never leaves the sockhash here (leaving frees queued bytes):
 * if the client cannot go in, the server stays on TCP for good.
 */
function takeIn(
  client: Candidate,
  server: Candidate,
  generation: number,
  m: { known: KernelMap; skCookie: KernelMap; sockhash: KernelMap },
  failures: string[],
): boolean {
  const NOEXIST = 1;
  try {
    m.known.update(cookieKey(client.cookie), record(client, server, ConnRole.CLIENT, generation), NOEXIST);
  } catch (e) {
    failures.push(`socket ${client.cookie}: ${(e as Error).message}`);
    return false;
  }
  try {
    m.known.update(cookieKey(server.cookie), record(server, client, ConnRole.SERVER, generation), NOEXIST);
  } catch (e) {
    m.known.delete(cookieKey(client.cookie));
    failures.push(`socket ${server.cookie}: ${(e as Error).message}`);
    return false;
  }
  const forget = (): void => {
    m.known.delete(cookieKey(client.cookie));
    m.known.delete(cookieKey(server.cookie));
  };
  try {
    m.skCookie.update(fdKey(client.dupFd), cookieKey(client.cookie));
    m.skCookie.update(fdKey(server.dupFd), cookieKey(server.cookie));
    m.sockhash.updateFd(cookieKey(server.cookie), server.dupFd, NOEXIST);
  } catch (e) {
    forget();
    failures.push(`connection ${client.localPort}->${client.remotePort}: ${(e as Error).message}`);
    return false;
  }
  try {
    m.sockhash.updateFd(cookieKey(client.cookie), client.dupFd, NOEXIST);
  } catch (e) {
    const serverRecord = m.known.lookup(cookieKey(server.cookie));
    if (serverRecord) {
      new DataView(serverRecord.buffer).setUint32(MeshConnLayout.state, ConnState.TCP, true);
      m.known.update(cookieKey(server.cookie), serverRecord);
    }
    m.known.delete(cookieKey(client.cookie));
    failures.push(`connection ${client.localPort}->${client.remotePort}: ${(e as Error).message}`);
    return false;
  }
  return true;
}
