/**
 * The bypass's maps as user space sees them: writing the policy (with a generation bump
 * that already-bypassed connections re-check), summing the per-CPU counters, and
 * listing connections. Works on a freshly loaded collection or on the pins alone
 * (`bpfkit mesh status` needs no agent).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { KernelMap } from '../kernel/map.js';
import { KernelMap as KernelMapClass } from '../kernel/map.js';
import { CidrAction, ConnFlags, decodeConn, MESH_MAX_PORT_RANGES, MESH_STATS, MeshCidrKeyLayout, MeshConfigLayout, MeshConnLayout, type MeshConn, type MeshStatName } from './layout.js';
import { encodeCidrs, encodeConfig, type MeshPolicy } from './policy.js';

/** Global counters, summed over CPUs. */
export type MeshCounters = Record<MeshStatName, bigint>;

/** One connection with its own counters (kept in its record: see struct mesh_conn). */
export type MeshConnection = MeshConn;

const MAP_NAMES = ['mesh_socks', 'mesh_picked_socks', 'mesh_conns', 'mesh_pending', 'mesh_config', 'mesh_cidrs', 'mesh_stats'] as const;
type MeshMapName = (typeof MAP_NAMES)[number];

const ZERO_KEY = new Uint8Array(4);

export class MeshMaps implements Disposable {
  readonly #maps: Record<MeshMapName, KernelMap>;
  readonly #owned: boolean;

  /** Wrap maps someone else owns (a collection): closing this does not close them. */
  constructor(maps: Record<MeshMapName, KernelMap>, owned = false) {
    this.#maps = maps;
    this.#owned = owned;
  }

  /** Wrap a loaded collection's maps. */
  static fromCollection(collection: { map(name: string): KernelMap }): MeshMaps {
    return new MeshMaps(Object.fromEntries(MAP_NAMES.map((n) => [n, collection.map(n)])) as Record<MeshMapName, KernelMap>);
  }

  /** Are the maps pinned under `pinRoot`? */
  static pinned(pinRoot: string): boolean {
    return MAP_NAMES.every((n) => existsSync(join(pinRoot, n)));
  }

  /** Open the maps pinned under `pinRoot`. @throws Error when the bypass was never set up there. */
  static fromPins(pinRoot: string): MeshMaps {
    if (!MeshMaps.pinned(pinRoot)) throw new Error(`no bypass maps are pinned under ${pinRoot}: start one with "bpfkit mesh up"`);
    const maps: Partial<Record<MeshMapName, KernelMap>> = {};
    try {
      for (const n of MAP_NAMES) maps[n] = KernelMapClass.fromPin(join(pinRoot, n));
    } catch (e) {
      for (const m of Object.values(maps)) m.close();
      throw e;
    }
    return new MeshMaps(maps as Record<MeshMapName, KernelMap>, true);
  }

  /** The sockhash (the sk_msg/sk_skb programs' link target). */
  get sockhash(): KernelMap {
    return this.#maps.mesh_socks;
  }

  /** The sockhash of connections taken in after they connected (sk_msg only, no stream verdict). */
  get pickedSockhash(): KernelMap {
    return this.#maps.mesh_picked_socks;
  }

  /** The policy generation now in mesh_config (0 on a fresh map). */
  generation(): number {
    const value = this.#maps.mesh_config.lookup(ZERO_KEY);
    return value ? new DataView(value.buffer, value.byteOffset).getUint32(MeshConfigLayout.generation, true) : 0;
  }

  /** Is the switch in mesh_config on? */
  enabled(): boolean {
    const value = this.#maps.mesh_config.lookup(ZERO_KEY);
    return value ? new DataView(value.buffer, value.byteOffset).getUint32(MeshConfigLayout.enabled, true) !== 0 : false;
  }

  /**
   * Apply `policy`: CIDRs first, then the config with the next generation, so a
   * connection that sees the new generation also sees the new CIDRs. Returns the generation.
   */
  writePolicy(policy: MeshPolicy): number {
    const cidrs = this.#maps.mesh_cidrs;
    const stale = [...cidrs.keys()];
    const fresh = encodeCidrs(policy);
    for (const { key, value } of fresh) cidrs.update(key, value);
    const keep = new Set(fresh.map((e) => Buffer.from(e.key).toString('hex')));
    for (const key of stale) if (!keep.has(Buffer.from(key).toString('hex'))) cidrs.delete(key);
    const generation = (this.generation() + 1) >>> 0;
    this.#maps.mesh_config.update(ZERO_KEY, encodeConfig(policy, generation));
    return generation;
  }

  /**
   * Would the policy in the maps now let a connection to this server end into the
   * bypass? The same decision as mesh.c's policy_allows, read from the same maps (the LPM
   * lookup finds the longest matching prefix, as the program's does).
   */
  allows(family: 4 | 6, serverIp: Uint8Array, serverPort: number): boolean {
    const config = this.#maps.mesh_config.lookup(ZERO_KEY);
    if (!config) return false;
    const v = new DataView(config.buffer, config.byteOffset, config.byteLength);
    const L = MeshConfigLayout;
    if (v.getUint32(L.enabled, true) === 0) return false;
    const inRanges = (offset: number, count: number): boolean => {
      for (let i = 0; i < Math.min(count, MESH_MAX_PORT_RANGES); i++) {
        if (serverPort >= v.getUint16(offset + 4 * i, true) && serverPort <= v.getUint16(offset + 4 * i + 2, true)) return true;
      }
      return false;
    };
    const includeCount = v.getUint32(L.includePortCount, true);
    const excludeCount = v.getUint32(L.excludePortCount, true);
    if (includeCount && !inRanges(L.includePorts, includeCount)) return false;
    if (excludeCount && inRanges(L.excludePorts, excludeCount)) return false;
    const key = new Uint8Array(MeshCidrKeyLayout.size);
    new DataView(key.buffer).setUint32(MeshCidrKeyLayout.prefixlen, 128, true);
    if (family === 4) key.set([0xff, 0xff, ...serverIp.subarray(0, 4)], MeshCidrKeyLayout.addr + 10);
    else key.set(serverIp.subarray(0, 16), MeshCidrKeyLayout.addr);
    const found = this.#maps.mesh_cidrs.lookup(key);
    const action = found ? new DataView(found.buffer, found.byteOffset).getUint32(0, true) : 0;
    if (action === CidrAction.EXCLUDE) return false;
    if (v.getUint32(L.hasIncludeCidrs, true) && action !== CidrAction.INCLUDE) return false;
    return true;
  }

  /**
   * Forget connections the agent took in whose socket has left the sockhash (it closed):
   * sock_ops never saw them connect, so no close callback removes their records. Returns
   * how many were removed and how many taken-in connections remain.
   */
  sweepPicked(): { removed: number; remaining: number } {
    let removed = 0;
    let remaining = 0;
    for (const [key, value] of [...this.#maps.mesh_conns.entries()]) {
      const flags = new DataView(value.buffer, value.byteOffset).getUint32(MeshConnLayout.flags, true);
      if ((flags & ConnFlags.PICKED) === 0) continue;
      if (this.#maps.mesh_picked_socks.lookup(key) !== undefined) {
        remaining++;
        continue;
      }
      if (this.#maps.mesh_conns.delete(key)) removed++;
    }
    return { removed, remaining };
  }

  /** The raw mesh_conns map (the agent's pickup writes records for connections it takes in). */
  get connectionRecords(): KernelMap {
    return this.#maps.mesh_conns;
  }

  /** Global counters, each summed over every CPU. */
  counters(): MeshCounters {
    const out = Object.fromEntries(MESH_STATS.map((n) => [n, 0n])) as MeshCounters;
    const key = new Uint8Array(4);
    MESH_STATS.forEach((name, index) => {
      new DataView(key.buffer).setUint32(0, index, true);
      for (const cpu of this.#maps.mesh_stats.lookupPerCpu(key) ?? []) out[name] += new DataView(cpu.buffer, cpu.byteOffset).getBigUint64(0, true);
    });
    return out;
  }

  /** Connections the bypass knows now (one record per socket), with their counters. */
  connections(): MeshConnection[] {
    const out: MeshConnection[] = [];
    for (const [key, value] of this.#maps.mesh_conns.entries()) {
      out.push(decodeConn(new DataView(key.buffer, key.byteOffset).getBigUint64(0, true), value));
    }
    return out;
  }

  /** Close the maps if this object opened them. */
  close(): void {
    if (this.#owned) for (const m of Object.values(this.#maps)) m.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
