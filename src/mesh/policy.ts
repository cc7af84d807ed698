/**
 * The bypass policy: which connections may skip the TCP/IP stack. It lives in maps
 * (mesh_config, mesh_cidrs), so it changes at run time without reloading, and every
 * change bumps a generation that already-bypassed connections re-check on their next
 * send. Connections are judged by their server end (address and port), which both
 * sockets of a connection agree on.
 *
 * A policy file is JSON:
 * ```json
 * { "enabled": true,
 *   "ports": { "include": ["80", "8000-8100"], "exclude": ["22"] },
 *   "cidrs": { "include": ["10.0.0.0/8", "127.0.0.0/8", "::1/128"], "exclude": ["10.1.0.0/16"] } }
 * ```
 * Empty or absent include lists mean "everything"; excludes win over includes (for
 * CIDRs, the longest matching prefix decides).
 */
import { CidrAction, MESH_MAX_PORT_RANGES, MeshCidrKeyLayout, MeshConfigLayout } from './layout.js';

export interface PortRange {
  first: number;
  last: number;
}

export interface Cidr {
  family: 4 | 6;
  /** 16 bytes: IPv6, or IPv4 mapped as ::ffff:a.b.c.d */
  address: Uint8Array;
  /** Prefix length in the family's own terms (0-32 or 0-128). */
  prefix: number;
  text: string;
}

export interface MeshPolicy {
  enabled: boolean;
  includePorts: PortRange[];
  excludePorts: PortRange[];
  includeCidrs: Cidr[];
  excludeCidrs: Cidr[];
}

/** A policy that cannot be used; `path` says where in the input (e.g. "ports.include[1]"). */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`policy ${path}: ${reason}`);
  }
}

/** The default policy: on, every port, every address. */
export function defaultPolicy(): MeshPolicy {
  return { enabled: true, includePorts: [], excludePorts: [], includeCidrs: [], excludeCidrs: [] };
}

/** Parse and validate a policy file's text. Throws PolicyError; never returns half a policy. */
export function parsePolicy(text: string): MeshPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new PolicyError('(file)', `is not valid JSON: ${(e as Error).message}`);
  }
  return policyFromJson(raw);
}

export function policyFromJson(raw: unknown): MeshPolicy {
  if (!isObject(raw)) throw new PolicyError('(root)', 'must be a JSON object');
  checkKeys(raw, ['enabled', 'ports', 'cidrs'], '(root)');
  const policy = defaultPolicy();
  if (raw.enabled !== undefined) {
    if (typeof raw.enabled !== 'boolean') throw new PolicyError('enabled', 'must be true or false');
    policy.enabled = raw.enabled;
  }
  if (raw.ports !== undefined) {
    if (!isObject(raw.ports)) throw new PolicyError('ports', 'must be an object with "include" and/or "exclude" lists');
    checkKeys(raw.ports, ['include', 'exclude'], 'ports');
    policy.includePorts = list(raw.ports.include, 'ports.include').map((v, i) => parsePortRange(v, `ports.include[${i}]`));
    policy.excludePorts = list(raw.ports.exclude, 'ports.exclude').map((v, i) => parsePortRange(v, `ports.exclude[${i}]`));
    for (const [name, ranges] of [['include', policy.includePorts], ['exclude', policy.excludePorts]] as const) {
      if (ranges.length > MESH_MAX_PORT_RANGES) {
        throw new PolicyError(`ports.${name}`, `has ${ranges.length} ranges; at most ${MESH_MAX_PORT_RANGES} fit (merge adjacent ranges)`);
      }
    }
  }
  if (raw.cidrs !== undefined) {
    if (!isObject(raw.cidrs)) throw new PolicyError('cidrs', 'must be an object with "include" and/or "exclude" lists');
    checkKeys(raw.cidrs, ['include', 'exclude'], 'cidrs');
    policy.includeCidrs = list(raw.cidrs.include, 'cidrs.include').map((v, i) => parseCidr(v, `cidrs.include[${i}]`));
    policy.excludeCidrs = list(raw.cidrs.exclude, 'cidrs.exclude').map((v, i) => parseCidr(v, `cidrs.exclude[${i}]`));
  }
  return policy;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Record<string, unknown>, allowed: string[], path: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw new PolicyError(path === '(root)' ? k : `${path}.${k}`, `is not a policy setting (expected one of: ${allowed.join(', ')})`);
  }
}

function list(v: unknown, path: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new PolicyError(path, 'must be a list');
  return v;
}

/** "80", 80 or "8000-8100". */
export function parsePortRange(v: unknown, path = 'port'): PortRange {
  const text = typeof v === 'number' ? String(v) : v;
  if (typeof text !== 'string') throw new PolicyError(path, 'must be a port ("80") or a range ("8000-8100")');
  const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(text);
  if (!m) throw new PolicyError(path, `"${text}" is not a port or a range like "8000-8100"`);
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  if (first < 1 || last > 65535) throw new PolicyError(path, `"${text}": ports run from 1 to 65535`);
  if (first > last) throw new PolicyError(path, `"${text}": the range ends before it starts`);
  return { first, last };
}

/** "10.0.0.0/8", "::1/128", "127.0.0.1" (a host). */
export function parseCidr(v: unknown, path = 'cidr'): Cidr {
  if (typeof v !== 'string') throw new PolicyError(path, 'must be a CIDR string like "10.0.0.0/8"');
  const [addr, prefixText, extra] = v.trim().split('/');
  if (extra !== undefined || addr === undefined) throw new PolicyError(path, `"${v}" is not a CIDR`);
  const v4 = parseIpv4(addr);
  const v6 = v4 ? undefined : parseIpv6(addr);
  if (!v4 && !v6) throw new PolicyError(path, `"${addr}" is not an IPv4 or IPv6 address`);
  const max = v4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) throw new PolicyError(path, `"${v}": the prefix length must be 0-${max}`);
  const address = new Uint8Array(16);
  if (v4) {
    address[10] = 0xff;
    address[11] = 0xff;
    address.set(v4, 12);
  } else {
    address.set(v6!);
  }
  return { family: v4 ? 4 : 6, address, prefix, text: v.trim() };
}

export function parseIpv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return Uint8Array.from(parts.map(Number));
}

export function parseIpv6(s: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.split('::').length > 2) return undefined;
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const words = (part: string | undefined): number[] | undefined => {
    if (!part) return [];
    const out: number[] = [];
    const groups = part.split(':');
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) {
        out.push(parseInt(g, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const h = words(head);
  const t = words(tail);
  if (!h || !t) return undefined;
  const missing = 8 - h.length - t.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const all = [...h, ...new Array<number>(tail === undefined ? 0 : missing).fill(0), ...t];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** The mesh_config value for a policy at a generation. */
export function encodeConfig(policy: MeshPolicy, generation: number): Uint8Array {
  const L = MeshConfigLayout;
  const out = new Uint8Array(L.size);
  const v = new DataView(out.buffer);
  v.setUint32(L.enabled, policy.enabled ? 1 : 0, true);
  v.setUint32(L.generation, generation >>> 0, true);
  v.setUint32(L.includePortCount, policy.includePorts.length, true);
  v.setUint32(L.excludePortCount, policy.excludePorts.length, true);
  v.setUint32(L.hasIncludeCidrs, policy.includeCidrs.length ? 1 : 0, true);
  policy.includePorts.forEach((r, i) => {
    v.setUint16(L.includePorts + 4 * i, r.first, true);
    v.setUint16(L.includePorts + 4 * i + 2, r.last, true);
  });
  policy.excludePorts.forEach((r, i) => {
    v.setUint16(L.excludePorts + 4 * i, r.first, true);
    v.setUint16(L.excludePorts + 4 * i + 2, r.last, true);
  });
  return out;
}

/** The mesh_cidrs entries (LPM trie key, action value) for a policy. */
export function encodeCidrs(policy: MeshPolicy): Array<{ key: Uint8Array; value: Uint8Array }> {
  const entries = [
    ...policy.includeCidrs.map((c) => [c, CidrAction.INCLUDE] as const),
    ...policy.excludeCidrs.map((c) => [c, CidrAction.EXCLUDE] as const),
  ];
  return entries.map(([c, action]) => {
    const key = new Uint8Array(MeshCidrKeyLayout.size);
    new DataView(key.buffer).setUint32(MeshCidrKeyLayout.prefixlen, c.family === 4 ? c.prefix + 96 : c.prefix, true);
    key.set(c.address, MeshCidrKeyLayout.addr);
    const value = new Uint8Array(4);
    new DataView(value.buffer).setUint32(0, action, true);
    return { key, value };
  });
}
