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
import { decodeConn, MESH_STATS, MeshConfigLayout, MeshConnStatsLayout, type MeshConn, type MeshStatName } from './layout.js';
import { encodeCidrs, encodeConfig, type MeshPolicy } from './policy.js';

/** Global counters, summed over CPUs. */
export type MeshCounters = Record<MeshStatName, bigint>;

/** One connection with its own counters (summed over CPUs). */
export interface MeshConnection extends MeshConn {
  redirectedBytes: bigint;
  redirectedMsgs: bigint;
  passedBytes: bigint;
  passedMsgs: bigint;
}

const MAP_NAMES = ['mesh_socks', 'mesh_conns', 'mesh_pending', 'mesh_config', 'mesh_cidrs', 'mesh_stats', 'mesh_conn_stats'] as const;
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
      const cookie = new DataView(key.buffer, key.byteOffset).getBigUint64(0, true);
      out.push({ ...decodeConn(cookie, value), ...this.connectionCounters(key) });
    }
    return out;
  }

  /** One socket's counters by cookie key (zeros when it never sent). */
  connectionCounters(cookieKey: Uint8Array): Pick<MeshConnection, 'redirectedBytes' | 'redirectedMsgs' | 'passedBytes' | 'passedMsgs'> {
    const sum = { redirectedBytes: 0n, redirectedMsgs: 0n, passedBytes: 0n, passedMsgs: 0n };
    const L = MeshConnStatsLayout;
    for (const cpu of this.#maps.mesh_conn_stats.lookupPerCpu(cookieKey) ?? []) {
      const v = new DataView(cpu.buffer, cpu.byteOffset, cpu.byteLength);
      sum.redirectedBytes += v.getBigUint64(L.redirectedBytes, true);
      sum.redirectedMsgs += v.getBigUint64(L.redirectedMsgs, true);
      sum.passedBytes += v.getBigUint64(L.passedBytes, true);
      sum.passedMsgs += v.getBigUint64(L.passedMsgs, true);
    }
    return sum;
  }

  /** Close the maps if this object opened them. */
  close(): void {
    if (this.#owned) for (const m of Object.values(this.#maps)) m.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
