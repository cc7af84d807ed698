import type { BpfProgram, Collection, TestRunOptions, TestRunResult } from '../api/types.js';
import { Btf } from '../btf/btf.js';
import { applyCoreRelocations, CoreTarget } from '../btf/core/apply.js';
import type { MapSpec, ObjectSpec, ProgramSpec } from '../elf/object-spec.js';
import { instructionsBySlot, pointLddwAtMap, type Instruction } from '../isa/instruction.js';
import { MapFlags, MapType } from '../uapi/map-types.js';
import { VmLoadError } from './errors.js';
import type { VmMap } from './maps/vm-map.js';
import type { LoadedProgram } from './program.js';
import { VmRuntime, type VmRuntimeOptions } from './runtime.js';
import { runOnContext, testRunProgram, type RunOnContextOptions } from './test-run.js';

/** A program loaded into the vm. */
export class VmProgram implements BpfProgram {
  constructor(
    readonly runtime: VmRuntime,
    readonly loaded: LoadedProgram & { fd: number },
  ) {}

  get name(): string {
    return this.loaded.name;
  }
  get type(): number {
    return this.loaded.type;
  }
  /** The program's fd in its runtime (what prog arrays store). */
  get fd(): number {
    return this.loaded.fd;
  }

  /** Run it as BPF_PROG_TEST_RUN would; faults throw VmFault, limits VmLimitError. */
  testRun(options: TestRunOptions = {}): TestRunResult {
    return testRunProgram(this.runtime, this.loaded, options);
  }

  /** Run on raw context bytes (any program type; see {@link runOnContext}). */
  runOnContext(ctx: Uint8Array, options: number | RunOnContextOptions = {}): bigint {
    return runOnContext(this.runtime, this.loaded, ctx, options);
  }

  close(): void {
    this.runtime.unload(this.loaded);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export interface VmCollectionOptions extends VmRuntimeOptions {
  /** Load into this runtime (to share maps between collections); default a new one. */
  runtime?: VmRuntime;
  /**
   * The kernel BTF to resolve CO-RE relocations against (e.g. /sys/kernel/btf/vmlinux),
   * patched as libbpf would. Without it, CO-RE instructions keep the object's local
   * offsets. Pair it with `kernelSocketLayout: kernelSocketLayout(btf)` so the simulated
   * kernel sockets use the same offsets the relocated programs read.
   */
  coreTarget?: Btf | Uint8Array | CoreTarget;
  /** Only load these programs (by function name); default all. As the kernel backend's option of that name. */
  programs?: readonly string[];
}

/** An ObjectSpec loaded into the vm: the vm's {@link Collection}. */
export class VmCollection implements Collection {
  readonly backend = 'vm' as const;

  constructor(
    readonly runtime: VmRuntime,
    readonly maps: ReadonlyMap<string, VmMap>,
    readonly programs: ReadonlyMap<string, VmProgram>,
  ) {}

  map(name: string): VmMap {
    const m = this.maps.get(name);
    if (m === undefined) throw new Error(`no map ${name} in this collection (maps: ${[...this.maps.keys()].join(', ') || 'none'})`);
    return m;
  }

  program(name: string): VmProgram {
    const p = this.programs.get(name);
    if (p === undefined) throw new Error(`no program ${name} in this collection (programs: ${[...this.programs.keys()].join(', ') || 'none'})`);
    return p;
  }

  close(): void {
    for (const p of this.programs.values()) p.close();
    for (const m of this.maps.values()) {
      m.close();
      this.runtime.removeMap(m);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Load an ObjectSpec into the vm: create its maps (global data with its initial bytes,
 * .rodata read-only to programs), apply map and map-value relocations, load every
 * program (or those `options.programs` names), then fill prog arrays and maps of maps from their initialisers.
 *
 * @throws VmLoadError for a program the vm cannot load (kfuncs, ksyms, unknown helpers, ...),
 *   VmErrnoError for a map the kernel would refuse.
 */
export function createVmCollection(spec: ObjectSpec, options: VmCollectionOptions = {}): VmCollection {
  const rt = options.runtime ?? new VmRuntime(options);
  const maps = new Map<string, VmMap>();
  for (const ms of spec.maps) maps.set(ms.name, rt.createMap(mapDefinition(ms)));
  const programs = new Map<string, VmProgram>();
  const localBtf = options.coreTarget !== undefined && spec.btfData !== undefined ? Btf.parse(spec.btfData, { endian: spec.endian }) : undefined;
  const core = options.coreTarget instanceof CoreTarget || options.coreTarget === undefined ? options.coreTarget : new CoreTarget(options.coreTarget instanceof Btf ? options.coreTarget : Btf.parse(options.coreTarget));
  const wanted = options.programs ? new Set(options.programs) : undefined;
  for (const ps of spec.programs) {
    if (wanted && !wanted.has(ps.name)) continue;
    const insns = relocate(core !== undefined ? relocateCore(ps, localBtf, core) : ps, maps);
    programs.set(ps.name, new VmProgram(rt, rt.load(ps.name, ps.type, insns)));
  }
  for (const ms of spec.maps) {
    for (const slot of ms.initialSlots ?? []) {
      const target = ms.type === MapType.PROG_ARRAY ? programs.get(slot.name)?.fd : maps.get(slot.name)?.fd;
      if (target === undefined && ms.type === MapType.PROG_ARRAY && wanted) continue; // not loaded on request
      if (target === undefined) throw new VmLoadError(`map ${ms.name}: initialiser slot ${slot.index} names ${slot.name}, which is not in the object`);
      const key = new Uint8Array(4);
      const value = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, slot.index, true);
      new DataView(value.buffer).setUint32(0, target, true);
      maps.get(ms.name)!.update(key, value);
    }
  }
  return new VmCollection(rt, maps, programs);
}

/** The program with its CO-RE relocations applied against `target` (libbpf's rules, src/btf/core). */
function relocateCore(ps: ProgramSpec, localBtf: Btf | undefined, target: CoreTarget): ProgramSpec {
  if (ps.coreRelocations.length === 0) return ps;
  if (localBtf === undefined) throw new VmLoadError(`program ${ps.name} has CO-RE relocations but the object has no BTF`);
  const { insns, results } = applyCoreRelocations(ps.instructions, ps.coreRelocations, localBtf, target);
  const failed = results.filter((r) => r.status === 'failed');
  if (failed.length > 0) throw new VmLoadError(`program ${ps.name}: CO-RE relocation failed: ${failed.map((r) => `${r.kindName} ${r.local}: ${r.error}`).join('; ')}`, failed[0]!.slot);
  return { ...ps, instructions: insns };
}

function mapDefinition(ms: MapSpec) {
  const readOnly = ms.readOnly === true || (ms.flags & MapFlags.RDONLY_PROG) !== 0;
  return {
    name: ms.name,
    type: ms.type,
    keySize: ms.keySize,
    valueSize: ms.valueSize,
    maxEntries: ms.maxEntries,
    flags: ms.flags,
    readOnly,
    ...(ms.initialData !== undefined && ms.type === MapType.ARRAY ? { initialData: ms.initialData } : {}),
    ...(ms.mapExtra !== undefined ? { mapExtra: ms.mapExtra } : {}),
  };
}

/** A copy of the program's instructions with its map relocations applied. */
function relocate(ps: ProgramSpec, maps: ReadonlyMap<string, VmMap>): Instruction[] {
  const insns = ps.instructions.map((i) => ({ ...i }));
  const bySlot = instructionsBySlot(insns);
  const fdOf = (name: string): number => {
    const m = maps.get(name);
    if (m === undefined) throw new VmLoadError(`program ${ps.name} refers to map ${name}, which is not in the object`);
    return m.fd;
  };
  for (const relo of ps.relocations) {
    const insn = bySlot.get(relo.slot);
    if (insn === undefined) throw new VmLoadError(`program ${ps.name}: relocation at slot ${relo.slot} is not at an instruction`, relo.slot);
    switch (relo.kind) {
      case 'map':
        pointLddwAtMap(insn, fdOf(relo.map));
        break;
      case 'map_value':
        pointLddwAtMap(insn, fdOf(relo.map), relo.offset);
        break;
      case 'kconfig':
        throw new VmLoadError(`program ${ps.name}: .kconfig extern ${relo.name} is not available in the vm yet`, relo.slot);
      case 'ksym':
      case 'kfunc':
        throw new VmLoadError(`program ${ps.name}: kernel symbol ${relo.name} is not available in the vm`, relo.slot);
    }
  }
  return insns;
}
