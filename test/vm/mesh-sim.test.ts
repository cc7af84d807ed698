import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Btf } from '../../src/btf/btf.js';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { decodeConn, MESH_STATS, type MeshConn, type MeshStatName } from '../../src/mesh/layout.js';
import { defaultPolicy, encodeConfig } from '../../src/mesh/policy.js';
import { createVmCollection, type VmCollection } from '../../src/vm/collection.js';
import { kernelSocketLayout, LOCAL_MESH_LAYOUT, type KernelSocketLayout } from '../../src/vm/sockets/kernel-socket.js';
import { SockOpsOp } from '../../src/vm/contexts/sock-ops.js';
import { SocketSimulation } from '../../src/vm/sockets/socket-simulation.js';
import { inCI } from '../support/clang.js';

/**
 * bpf/mesh's committed object, run in the vm over simulated connections: sockops pairs
 * the two ends of a local connection by their handshake sequence numbers, sk_msg
 * redirects each send to the peer (reading the peer's psock backlog through
 * bpf_probe_read_kernel), and policy changes or an unpaired client fall back to TCP.
 */
const VMLINUX = '/sys/kernel/btf/vmlinux';
const MESH_O = 'bpf/mesh/mesh.o';

const u32 = (v: number) => new Uint8Array(new Uint32Array([v]).buffer);
const u64 = (v: bigint) => new Uint8Array(new BigUint64Array([v]).buffer);

/** Sum a per-CPU value (CPUs' values one after another, each rounded up to 8 bytes). */
function sumPerCpu(value: Uint8Array, size: number, offset: number): bigint {
  const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const stride = (size + 7) & ~7;
  let sum = 0n;
  for (let at = 0; at + stride <= value.length; at += stride) sum += v.getBigUint64(at + offset, true);
  return sum;
}

interface Mesh {
  coll: VmCollection;
  sim: SocketSimulation;
  stat(name: MeshStatName): bigint;
  conn(cookie: bigint): MeshConn | undefined;
  connStats(cookie: bigint): { redirectedBytes: bigint; passedBytes: bigint } | undefined;
  setPolicy(enabled: boolean, generation: number): void;
}

type Setup = { name: string; options: () => { coreTarget?: Btf; kernelSocketLayout: KernelSocketLayout; tier?: 'interpreter' | 'js' } };

const setups: Setup[] = [
  // Unrelocated: the object's own `___mesh` views, which the vm's default layout mirrors.
  { name: 'local views (no CO-RE)', options: () => ({ kernelSocketLayout: LOCAL_MESH_LAYOUT }) },
];
let vmlinux: Btf | undefined;
// Under CI the kernel's BTF must be there: a missing file fails these setups instead of dropping them.
if (inCI || existsSync(VMLINUX)) {
  setups.push({
    name: 'CO-RE relocated against this kernel',
    options: () => {
      vmlinux ??= Btf.parse(readFileSync(VMLINUX));
      return { coreTarget: vmlinux, kernelSocketLayout: kernelSocketLayout(vmlinux) };
    },
  });
  setups.push({
    name: 'CO-RE relocated, js tier',
    options: () => {
      vmlinux ??= Btf.parse(readFileSync(VMLINUX));
      return { coreTarget: vmlinux, kernelSocketLayout: kernelSocketLayout(vmlinux), tier: 'js' };
    },
  });
}

function loadMesh(options: ReturnType<Setup['options']>): Mesh {
  let seed = 0x12345678;
  // Deterministic ISNs: xorshift, so connections get distinct, reproducible sequence numbers.
  const randomU32 = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  // The agent's scan iterator (iter/bpf_sk_storage_map) has no vm counterpart: the
  // simulation runs the socket programs.
  const programs = ['mesh_sockops', 'mesh_redirect', 'mesh_skb_verdict'];
  const coll = createVmCollection(loadObjectSpec(readFileSync(MESH_O)), { ...options, programs, environment: { randomU32 } });
  const sim = new SocketSimulation(coll.runtime, coll.program('mesh_sockops').loaded, coll.program('mesh_redirect').loaded);
  const mesh: Mesh = {
    coll,
    sim,
    stat: (name) => sumPerCpu(coll.map('mesh_stats').lookup(u32(MESH_STATS.indexOf(name)))!, 8, 0),
    conn: (cookie) => {
      const v = coll.map('mesh_conns').lookup(u64(cookie));
      return v === undefined ? undefined : decodeConn(cookie, v);
    },
    connStats: (cookie) => {
      const v = coll.map('mesh_conns').lookup(u64(cookie));
      if (v === undefined) return undefined;
      const { redirectedBytes, passedBytes } = decodeConn(cookie, v);
      return { redirectedBytes, passedBytes };
    },
    setPolicy: (enabled, generation) => coll.map('mesh_config').update(u32(0), encodeConfig({ ...defaultPolicy(), enabled }, generation)),
  };
  mesh.setPolicy(true, 1);
  return mesh;
}

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe.each(setups)('bpf/mesh in the vm: $name', ({ options }) => {
  it('pairs a local client and server and redirects every send to the peer', () => {
    const m = loadMesh(options());
    using _ = m.coll;
    const { client, server } = m.sim.connect({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 8080 });
    const c = m.conn(client.cookie);
    const s = m.conn(server.cookie);
    expect(c).toMatchObject({ role: 'client', state: 'redirect', peerCookie: server.cookie, local: '10.0.0.1', localPort: 40000, remote: '10.0.0.2', remotePort: 8080, allowed: true });
    expect(s).toMatchObject({ role: 'server', state: 'redirect', peerCookie: client.cookie, local: '10.0.0.2', localPort: 8080, remotePort: 40000, allowed: true });
    expect(m.stat('paired')).toBe(1n);
    expect(m.stat('inserted')).toBe(2n);
    expect([...m.coll.map('mesh_socks').keys()].length).toBe(2);
    // The pending entry is consumed by the pairing.
    expect([...m.coll.map('mesh_pending').keys()]).toEqual([]);

    const sent = [bytes(100, 1), bytes(1000, 2), bytes(7, 3)];
    for (const msg of sent) {
      const r = m.sim.send(client, msg);
      expect(r).toMatchObject({ verdict: 'pass', redirected: true });
      expect(r.deliveredTo).toBe(server);
    }
    const reply = bytes(50, 9);
    expect(m.sim.send(server, reply)).toMatchObject({ verdict: 'pass', redirected: true, deliveredTo: client });
    expect(m.sim.read(server)).toEqual(sent);
    expect(m.sim.read(client)).toEqual([reply]);
    expect(m.stat('redirected_bytes')).toBe(1107n + 50n);
    expect(m.stat('redirected_msgs')).toBe(4n);
    expect(m.stat('passed_msgs')).toBe(0n);
    expect(m.connStats(client.cookie)).toEqual({ redirectedBytes: 1107n, passedBytes: 0n });
    expect(m.connStats(server.cookie)).toEqual({ redirectedBytes: 50n, passedBytes: 0n });
  });

  it('records each socket psock, and falls back to TCP when the peer stops reading', () => {
    const m = loadMesh(options());
    using _ = m.coll;
    const { client, server } = m.sim.connect({ ip: '10.0.0.1', port: 40001 }, { ip: '10.0.0.2', port: 8080 });
    const psockOf = (cookie: bigint) => {
      const v = new DataView(m.coll.map('mesh_conns').lookup(u64(cookie))!.buffer);
      return { own: v.getBigUint64(72, true), peer: v.getBigUint64(80, true) };
    };
    const cp = psockOf(client.cookie);
    const sp = psockOf(server.cookie);
    // sk_user_data gave each socket's psock address; the pairing crossed them over.
    expect(cp.own).not.toBe(0n);
    expect(sp.own).not.toBe(0n);
    expect(cp.own).not.toBe(sp.own);
    expect(cp.peer).toBe(sp.own);
    expect(sp.peer).toBe(cp.own);
    // The server never reads: its psock's msg_tot_len grows until the next send would
    // pass MESH_MIN_BACKLOG (4 MiB; the simulated sk_rcvbuf is smaller), then TCP takes over.
    const chunk = bytes(1 << 20, 5);
    for (let i = 0; i < 4; i++) expect(m.sim.send(client, chunk).redirected).toBe(true);
    const over = m.sim.send(client, bytes(1, 6));
    expect(over).toMatchObject({ verdict: 'pass', redirected: false, deliveredTo: server });
    expect(m.conn(client.cookie)?.state).toBe('tcp');
    expect(m.stat('fallbacks')).toBe(1n);
  });

  it('disabling the policy moves the next send to TCP for good', () => {
    const m = loadMesh(options());
    using _ = m.coll;
    const { client, server } = m.sim.connect({ ip: '10.0.0.1', port: 40002 }, { ip: '10.0.0.2', port: 8080 });
    expect(m.sim.send(client, bytes(10, 1)).redirected).toBe(true);
    m.setPolicy(false, 2);
    const after = m.sim.send(client, bytes(20, 2));
    expect(after).toMatchObject({ verdict: 'pass', redirected: false, deliveredTo: server });
    expect(m.conn(client.cookie)).toMatchObject({ state: 'tcp', allowed: false });
    // Re-enabling does not switch back: bytes on the TCP path must not be overtaken.
    m.setPolicy(true, 3);
    expect(m.sim.send(client, bytes(30, 3)).redirected).toBe(false);
    expect(m.stat('fallbacks')).toBe(1n);
    expect(m.stat('redirected_bytes')).toBe(10n);
    expect(m.stat('passed_bytes')).toBe(50n);
    expect(m.connStats(client.cookie)).toEqual({ redirectedBytes: 10n, passedBytes: 50n });
    // The server's record has not sent since, so it still holds the old verdict.
    expect(m.conn(server.cookie)).toMatchObject({ state: 'redirect' });
  });

  it('a client whose server never reaches PASSIVE_ESTABLISHED stays pending; its sends pass and its first ACK removes it', () => {
    const m = loadMesh(options());
    using _ = m.coll;
    const { client, server } = m.sim.connect({ ip: '10.0.0.1', port: 40003 }, { ip: '10.0.0.9', port: 443 }, { passive: false });
    expect(m.conn(client.cookie)).toMatchObject({ role: 'client', state: 'pending', peerCookie: 0n });
    expect(m.conn(server.cookie)).toBeUndefined();
    expect([...m.coll.map('mesh_pending').entries()].map(([, v]) => new DataView(v.buffer).getBigUint64(0, true))).toEqual([client.cookie]);
    expect(m.stat('paired')).toBe(0n);
    const r = m.sim.send(client, bytes(64, 7));
    expect(r).toMatchObject({ verdict: 'pass', redirected: false, deliveredTo: server });
    expect(m.stat('fallbacks')).toBe(1n);
    // That first byte went by TCP and was ACKed: the RTT callback finds no peer and takes
    // the client out of the sockhash and mesh_conns, and turns RTT callbacks off again.
    expect(m.stat('unpaired_removed')).toBe(1n);
    expect(m.conn(client.cookie)).toBeUndefined();
    expect([...m.coll.map('mesh_socks').keys()]).toEqual([]);
    expect(client.cbFlags & (1 << 3)).toBe(0);
    // Later sends: no record any more (a miss), still on the normal path.
    expect(m.sim.send(client, bytes(8, 8)).redirected).toBe(false);
    expect(m.stat('misses')).toBe(1n);
    expect(m.stat('passed_bytes')).toBe(64n);
    expect(m.stat('redirected_bytes')).toBe(0n);
    // The server's own sends are not ours at all: no record, another miss.
    expect(m.sim.send(server, bytes(5, 1)).redirected).toBe(false);
    expect(m.stat('misses')).toBe(2n);
    expect(m.sim.read(server).map((b) => b.length)).toEqual([64, 8]);
  });

  it('connections are paired by their own handshake, not by address', () => {
    const m = loadMesh(options());
    using _ = m.coll;
    const a = m.sim.connect({ ip: '10.0.0.1', port: 40010 }, { ip: '10.0.0.2', port: 8080 });
    const b = m.sim.connect({ ip: '10.0.0.1', port: 40011 }, { ip: '10.0.0.2', port: 8080 });
    expect(m.conn(a.client.cookie)?.peerCookie).toBe(a.server.cookie);
    expect(m.conn(b.client.cookie)?.peerCookie).toBe(b.server.cookie);
    expect(m.sim.send(b.client, bytes(3, 1)).deliveredTo).toBe(b.server);
    expect(m.stat('paired')).toBe(2n);
  });

  it('an MPTCP subflow stays out (bpf_core_field_exists + bpf_skc_to_tcp_sock)', () => {
    const opts = options();
    const m = loadMesh(opts);
    using _ = m.coll;
    const rt = m.coll.runtime;
    const client = rt.createSocket({ localIp: '10.0.0.1', localPort: 40030, remoteIp: '10.0.0.2', remotePort: 8080 });
    client.mptcp = true;
    m.sim.runSockOps(client, SockOpsOp.ACTIVE_ESTABLISHED_CB);
    // A kernel without tcp_sock.is_mptcp has no MPTCP: the field check is false and the socket is taken.
    const skipped = opts.kernelSocketLayout.isMptcp !== undefined;
    expect(m.stat('mptcp_skipped')).toBe(skipped ? 1n : 0n);
    expect(m.conn(client.cookie) === undefined).toBe(skipped);
    const plain = rt.createSocket({ localIp: '10.0.0.1', localPort: 40031, remoteIp: '10.0.0.2', remotePort: 8080 });
    m.sim.runSockOps(plain, SockOpsOp.ACTIVE_ESTABLISHED_CB);
    expect(m.conn(plain.cookie)?.state).toBe('pending');
  });

  it('closing a socket forgets its record; the peer then falls back to TCP', () => {
    const m = loadMesh(options());
    using _ = m.coll;
    const { client, server } = m.sim.connect({ ip: '10.0.0.1', port: 40020 }, { ip: '10.0.0.2', port: 8080 });
    m.sim.send(client, bytes(1, 1));
    m.sim.close(client);
    expect(m.conn(client.cookie)).toBeUndefined();
    expect(m.connStats(client.cookie)).toBeUndefined();
    expect(m.stat('closed')).toBe(1n);
    // The closed socket left the sockhash, so the server's redirect to it fails.
    expect([...m.coll.map('mesh_socks').keys()].length).toBe(1);
    expect(m.sim.send(server, bytes(4, 2))).toMatchObject({ verdict: 'pass', redirected: false });
    expect(m.conn(server.cookie)?.state).toBe('tcp');
    expect(m.stat('fallbacks')).toBe(1n);
  });

  it('a dual-stack server (v4-mapped IPv6) pairs with its client as IPv4', () => {
    const m = loadMesh(options());
    using _ = m.coll;
    const { client, server } = m.sim.connect({ ip: '::ffff:10.0.0.1', port: 40040 }, { ip: '::ffff:10.0.0.2', port: 8443 });
    expect(m.conn(client.cookie)).toMatchObject({ family: 4, local: '10.0.0.1', remote: '10.0.0.2', peerCookie: server.cookie });
    expect(m.conn(server.cookie)).toMatchObject({ family: 4, local: '10.0.0.2', peerCookie: client.cookie });
    expect(m.sim.send(server, bytes(9, 1)).deliveredTo).toBe(client);
  });

  it('an excluded server port keeps the connection out of the bypass', () => {
    const m = loadMesh(options());
    using _ = m.coll;
    m.coll.map('mesh_config').update(u32(0), encodeConfig({ ...defaultPolicy(), excludePorts: [{ first: 5432, last: 5432 }] }, 2));
    const { client } = m.sim.connect({ ip: '10.0.0.1', port: 40050 }, { ip: '10.0.0.2', port: 5432 });
    expect(m.conn(client.cookie)).toBeUndefined();
    expect(m.stat('policy_skipped')).toBe(1n);
    expect(m.sim.send(client, bytes(2, 1)).redirected).toBe(false);
    // Another port still pairs.
    const other = m.sim.connect({ ip: '10.0.0.1', port: 40051 }, { ip: '10.0.0.2', port: 5433 });
    expect(m.sim.send(other.client, bytes(2, 1)).deliveredTo).toBe(other.server);
    expect(m.stat('paired')).toBe(1n);
  });
});

describe('LOCAL_MESH_LAYOUT', () => {
  it('matches the local views compiled into bpf/mesh/mesh.o (sock___mesh, tcp_sock___mesh, sk_psock___mesh)', () => {
    const spec = loadObjectSpec(readFileSync(MESH_O));
    const btf = Btf.parse(spec.btfData!, { endian: spec.endian });
    const struct = (name: string) => btf.findByName(name, 'struct')!.id;
    const offset = (s: string, member: string) => btf.findMember(struct(s), member)!.bitOffset / 8;
    expect(LOCAL_MESH_LAYOUT).toEqual({
      tcpSockSize: Math.max(btf.sizeof(struct('sock___mesh')), btf.sizeof(struct('tcp_sock___mesh'))),
      skUserData: offset('sock___mesh', 'sk_user_data'),
      skRcvbuf: offset('sock___mesh', 'sk_rcvbuf'),
      isMptcp: offset('tcp_sock___mesh', 'is_mptcp'),
      psockSize: btf.sizeof(struct('sk_psock___mesh')),
      psockSk: offset('sk_psock___mesh', 'sk'),
      psockMsgTotLen: offset('sk_psock___mesh', 'msg_tot_len'),
    });
  });
});
