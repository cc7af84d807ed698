import type { Instruction } from '../isa/instruction.js';
import { defaultEnvironment, type VmEnvironment } from './environment.js';
import { VmLoadError } from './errors.js';
import type { HelperTable } from './helpers/helper.js';
import { helpersFor } from './helpers/table.js';
import { Machine } from './interpreter.js';
import { createMap, type MapDefinition } from './maps/create-map.js';
import type { FdHost } from './maps/fd-maps.js';
import { SockMapMap, type SocketHost } from './maps/sock-maps.js';
import { KernelSocket, LOCAL_MESH_LAYOUT, type KernelSocketLayout } from './sockets/kernel-socket.js';
import { SimSocket, type SimSocketOptions } from './sockets/sim-socket.js';
import type { VmMap } from './maps/vm-map.js';
import { AddressSpace, Region, type Pointer, type RegionKind } from './memory.js';
import { loadProgram, type LoadedProgram } from './program.js';

export interface VmRuntimeOptions {
  /** Time, randomness, task, CPUs, probe memory, trace log (defaults: real time, 4 CPUs). */
  environment?: Partial<VmEnvironment>;
  /** How programs run: 'interpreter' (default) or 'js' (compiled to JavaScript where eligible). */
  tier?: 'interpreter' | 'js';
  /**
   * Field offsets of the simulated kernel sockets (tcp_sock, sk_psock) that
   * bpf_skc_to_tcp_sock exposes; use the layout of the BTF CO-RE relocated against
   * (default: bpf/mesh's unrelocated local views).
   */
  kernelSocketLayout?: KernelSocketLayout;
}

export interface LoadOptions {
  /** Helpers to bind instead of the program type's table (bpf_conformance uses its own). */
  helpers?: HelperTable;
  /** For lddw map_idx / map_idx_value: the fd array (index -> map fd). */
  fdArray?: readonly number[];
}

/**
 * One instance of bpfkit's runtime: an address space, an interpreter, the maps and the
 * programs loaded into it, and the environment helpers observe. The vm counterpart of
 * "the kernel": a Collection loads into one runtime; several collections may share one.
 */
export class VmRuntime implements FdHost, SocketHost {
  readonly memory = new AddressSpace();
  readonly machine: Machine;
  readonly env: VmEnvironment;
  private readonly maps = new Map<number, VmMap>();
  private readonly programs = new Map<number, LoadedProgram>();
  private readonly valueRegions = new WeakMap<Uint8Array, Region>();
  private nextFd = 3;
  private readonly sockets = new Map<number, SimSocket>();
  private readonly kernelSockets = new Map<SimSocket, KernelSocket>();
  readonly kernelSocketLayout: KernelSocketLayout;

  constructor(options: VmRuntimeOptions = {}) {
    this.env = defaultEnvironment(options.environment);
    this.machine = new Machine(this.memory);
    this.machine.runtime = this;
    this.machine.tier = options.tier ?? 'interpreter';
    this.kernelSocketLayout = options.kernelSocketLayout ?? LOCAL_MESH_LAYOUT;
  }

  /** Virtual CPUs. */
  get cpus(): number {
    return this.env.cpus;
  }

  /**
   * Create a map in this runtime.
   * @throws VmErrnoError EINVAL for parameters the kernel would refuse.
   */
  createMap(def: MapDefinition): VmMap {
    return this.addMap(createMap(this.allocateFd(), def, this));
  }

  /** Register a map created with {@link allocateFd}'s number. */
  addMap(map: VmMap): VmMap {
    this.maps.set(map.fd, map);
    map.handle = this.memory.add(new Region('map', `map ${map.name}`, new Uint8Array(0), false, null, map));
    return map;
  }

  /** A fresh fd number for a map or program. */
  allocateFd(): number {
    return this.nextFd++;
  }

  /** Forget a map (close). Pointers to it become invalid. */
  removeMap(map: VmMap): void {
    if (this.maps.get(map.fd) !== map) return;
    this.maps.delete(map.fd);
    if (map.handle) this.memory.remove(map.handle);
  }

  /** A simulated socket (for sockops and sk_msg programs and sockmaps). */
  createSocket(options: SimSocketOptions): SimSocket {
    const s = new SimSocket(this.allocateFd(), options);
    this.sockets.set(s.fd, s);
    return s;
  }

  /** The simulated kernel memory of a socket (made on first use), synced with its state. */
  kernelSocket(socket: SimSocket): KernelSocket {
    let k = this.kernelSockets.get(socket);
    if (k === undefined) this.kernelSockets.set(socket, (k = new KernelSocket(this.memory, this.kernelSocketLayout, socket)));
    else k.sync();
    return k;
  }

  /** A socket closed: it leaves every sockmap and sockhash, as in the kernel. */
  closeSocket(socket: SimSocket): void {
    for (const m of this.maps.values()) if (m instanceof SockMapMap) m.forget(socket);
    this.kernelSockets.get(socket)?.sync();
  }

  socketByFd(fd: number): SimSocket | undefined {
    return this.sockets.get(fd);
  }

  mapByFd(fd: number): VmMap | undefined {
    return this.maps.get(fd);
  }

  programByFd(fd: number): LoadedProgram | undefined {
    return this.programs.get(fd);
  }

  /** The map a pointer (from lddw map_fd) stands for. */
  mapAt(p: Pointer): VmMap | undefined {
    const r = this.memory.regionOf(p.hi);
    return r !== undefined && r.kind === 'map' ? (r.target as VmMap) : undefined;
  }

  /**
   * Pointer to a map value's bytes (the value stays addressable, as one region, until the
   * map releases it with {@link releaseValue}).
   */
  valuePointer(map: VmMap, bytes: Uint8Array, kind: RegionKind = 'map_value'): Pointer {
    let r = this.valueRegions.get(bytes);
    if (r === undefined || r.hi === 0) {
      r = this.memory.add(new Region(kind, `map ${map.name} value`, bytes, map.programWritable));
      this.valueRegions.set(bytes, r);
    }
    return { lo: AddressSpace.lo(0), hi: r.hi };
  }

  /** Unmap a value a map deleted: programs' pointers to it fault from now on. */
  releaseValue(bytes: Uint8Array): void {
    const r = this.valueRegions.get(bytes);
    if (r !== undefined) {
      this.memory.remove(r);
      this.valueRegions.delete(bytes);
    }
  }

  /**
   * Validate and decode a program. The program gets an fd (for prog arrays).
   * @throws VmLoadError
   */
  load(name: string, type: number, instructions: readonly Instruction[], options: LoadOptions = {}): LoadedProgram & { fd: number } {
    const fd = this.allocateFd();
    const helpers = options.helpers ?? helpersFor(type);
    const resolveFd = (n: number, pseudo: string): VmMap => {
      const mapFd = pseudo.startsWith('map_idx') ? options.fdArray?.[n] : n;
      const map = mapFd === undefined ? undefined : this.maps.get(mapFd);
      if (map === undefined) throw new VmLoadError(`lddw ${pseudo} ${n}: no such map in this runtime`);
      return map;
    };
    const prog = loadProgram(name, type, instructions, {
      helpers,
      mapHandle: (n, pseudo) => ({ lo: AddressSpace.lo(0), hi: resolveFd(n, pseudo).handle!.hi }),
      mapValue: (n, offset, pseudo) => {
        const map = resolveFd(n, pseudo);
        const value = map.lookupRef(new Uint8Array(4), 0);
        if (value === undefined) throw new VmLoadError(`lddw ${pseudo}: map ${map.name} has no direct value (only single-element arrays do)`);
        if (offset < 0 || offset >= Math.max(value.length, 1)) throw new VmLoadError(`lddw ${pseudo}: offset ${offset} is outside map ${map.name}'s ${value.length}-byte value`);
        const p = this.valuePointer(map, value);
        return { lo: (p.lo + offset) | 0, hi: p.hi };
      },
      codeRegion: (n) => this.memory.add(new Region('code', `code of ${n}`, new Uint8Array(0), false)),
    });
    const loaded = Object.assign(prog, { fd });
    this.programs.set(fd, loaded);
    return loaded;
  }

  /** Forget a program. */
  unload(prog: LoadedProgram & { fd: number }): void {
    if (this.programs.get(prog.fd) !== prog) return;
    this.programs.delete(prog.fd);
    this.memory.remove(prog.codeRegion);
  }
}
