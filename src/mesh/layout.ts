/**
 * Byte layouts of bpf/mesh/mesh.h, mirrored for user space. A test checks every
 * size and offset here against the BTF of the committed bpf/mesh/mesh.o.
 */

export const MESH_MAX_PORT_RANGES = 16;

/** enum mesh_stat, in order: the index of each global counter in mesh_stats. */
export const MESH_STATS = [
  'redirected_msgs',
  'redirected_bytes',
  'passed_msgs',
  'passed_bytes',
  'misses',
  'fallbacks',
  'inserted',
  'paired',
  'unpaired_removed',
  'policy_skipped',
  'mptcp_skipped',
  'closed',
  'insert_failed',
  'removal_deferred',
] as const;
export type MeshStatName = (typeof MESH_STATS)[number];

export const ConnState = { PENDING: 0, REDIRECT: 1, TCP: 2, PICKED: 3 } as const;
/** mesh_conn.flags bits. */
export const ConnFlags = { PICKED: 1 } as const;
export const ConnRole = { CLIENT: 1, SERVER: 2 } as const;
export const CidrAction = { INCLUDE: 1, EXCLUDE: 2 } as const;

export const AF_INET = 2;
export const AF_INET6 = 10;

/** struct mesh_config */
export const MeshConfigLayout = {
  size: 24 + 2 * MESH_MAX_PORT_RANGES * 4,
  enabled: 0,
  generation: 4,
  includePortCount: 8,
  excludePortCount: 12,
  hasIncludeCidrs: 16,
  includePorts: 24,
  excludePorts: 24 + MESH_MAX_PORT_RANGES * 4,
} as const;

/** struct mesh_conn */
export const MeshConnLayout = {
  size: 120,
  peerCookie: 0,
  state: 8,
  role: 12,
  family: 16,
  localPort: 20,
  remotePort: 24,
  policyGeneration: 28,
  allowed: 32,
  flags: 36,
  localIp: 40,
  remoteIp: 56,
  ownPsock: 72,
  peerPsock: 80,
  redirectedBytes: 88,
  redirectedMsgs: 96,
  passedBytes: 104,
  passedMsgs: 112,
} as const;

/** struct mesh_scan_record (what the mesh_scan iterator writes per socket). */
export const MeshScanRecordLayout = {
  size: 32,
  cookie: 0,
  psock: 8,
  tcpState: 16,
  isMptcp: 20,
  ackedBaseSeq: 24,
  peerNextSeq: 28,
} as const;

/** struct mesh_cidr_key */
export const MeshCidrKeyLayout = { size: 20, prefixlen: 0, addr: 4 } as const;

/** A decoded struct mesh_conn. */
export interface MeshConn {
  cookie: bigint;
  peerCookie: bigint;
  /** pending: waiting for its peer; redirect; tcp: on the normal path for good; picked: taken in after it connected, redirecting once quiet. */
  state: 'pending' | 'redirect' | 'tcp' | 'picked';
  role: 'client' | 'server';
  family: 4 | 6;
  local: string;
  remote: string;
  localPort: number;
  remotePort: number;
  allowed: boolean;
  /** Taken in by the agent's scan (connected before the agent started). */
  picked: boolean;
  /** This socket's sends: redirected to the peer, or passed to TCP. */
  redirectedBytes: bigint;
  redirectedMsgs: bigint;
  passedBytes: bigint;
  passedMsgs: bigint;
}

function formatIp(bytes: Uint8Array, family: number): string {
  if (family === AF_INET) return Array.from(bytes.subarray(0, 4)).join('.');
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return parts.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** Decode a mesh_conns value. */
export function decodeConn(cookie: bigint, value: Uint8Array): MeshConn {
  const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const L = MeshConnLayout;
  const family = v.getUint32(L.family, true);
  const state = v.getUint32(L.state, true);
  return {
    cookie,
    peerCookie: v.getBigUint64(L.peerCookie, true),
    state: state === ConnState.REDIRECT ? 'redirect' : state === ConnState.TCP ? 'tcp' : state === ConnState.PICKED ? 'picked' : 'pending',
    role: v.getUint32(L.role, true) === ConnRole.SERVER ? 'server' : 'client',
    family: family === AF_INET ? 4 : 6,
    local: formatIp(value.subarray(L.localIp, L.localIp + 16), family),
    remote: formatIp(value.subarray(L.remoteIp, L.remoteIp + 16), family),
    localPort: v.getUint32(L.localPort, true),
    remotePort: v.getUint32(L.remotePort, true),
    allowed: v.getUint32(L.allowed, true) !== 0,
    picked: (v.getUint32(L.flags, true) & ConnFlags.PICKED) !== 0,
    redirectedBytes: v.getBigUint64(L.redirectedBytes, true),
    redirectedMsgs: v.getBigUint64(L.redirectedMsgs, true),
    passedBytes: v.getBigUint64(L.passedBytes, true),
    passedMsgs: v.getBigUint64(L.passedMsgs, true),
  };
}
