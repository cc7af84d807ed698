/**
 * Loading a whole ObjectSpec into the kernel: BTF, maps (reusing pinned ones), global
 * data (with the user's values, .rodata frozen), relocations and CO-RE, programs, then
 * prog arrays and maps of maps from their initialisers. A failure part way releases
 * everything created so far; closing the collection releases every fd it opened.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ensureBpffsDirectory } from './bpffs.js';
import type { Collection } from '../api/types.js';
import type { Btf } from '../btf/btf.js';
import { hasSpecialField } from '../btf/value/special.js';
import type { MapSpec, ObjectSpec, ProgramSpec } from '../elf/object-spec.js';
import { MapFlags, MapType, ProgType } from '../uapi/index.js';
import type { FreplaceTarget } from './attach.js';
import { attachBtfId, needsAttachBtfId } from './attach-btf.js';
import { autoAttach, canAutoAttach, USDT_SPECS_MAP, type AutoLink } from './auto-attach.js';
import type { KernelLink } from './link.js';
import { KernelBtf } from './btf-object.js';
import { possibleCpus } from './cpus.js';
import { BpfError } from './errors.js';
import { initialDataWith, type VariableValue } from './global-data.js';
import { fillKconfig } from './kconfig.js';
import { createMap, type MapOptions } from './map-create.js';
import { mapKind, mapTypeLabel } from './map-kinds.js';
import { KernelMap } from './map.js';
import { kernelReadyBtf, objectBtf } from './object-btf.js';
import { KernelProgram } from './program.js';
import { programFunctionBtfId } from './program-btf.js';
import { relocateProgram } from './relocate.js';
import { attachStructOps, structOpsKernelType, structOpsProgramTarget, structOpsValue } from './struct-ops.js';

export interface CollectionOptions {
  /** bpffs directory for maps with `pinning: 'by_name'` (default /sys/fs/bpf). */
  pinPath?: string;
  /** New values for global variables (.rodata, .data, .bss), by name, applied before load. */
  variables?: Readonly<Record<string, VariableValue>>;
  /** Use these maps instead of creating the object's maps of the same names (the caller keeps ownership). */
  replaceMaps?: Readonly<Record<string, KernelMap>>;
  /** Only load these programs (by function name); default all. */
  programs?: readonly string[];
  /** Verifier log level for every program (the log lands on KernelProgram.verifierLog). */
  logLevel?: number;
  /** Initial verifier log buffer size. */
  logSize?: number;
  /**
   * Programs of other collections that programs of this one attach to, by program name
   * (libbpf's bpf_program__set_attach_target): an freplace program (`freplace/<func>`)
   * needs the program whose global function it replaces, and fentry/fexit may trace a
   * BPF program's function instead of a kernel one. `function` defaults to the name in
   * the section. The caller keeps the target open while this collection attaches to it.
   */
  attachTargets?: Readonly<Record<string, KernelProgram | AttachTargetOption>>;
}

/** A program's function to attach to, for {@link CollectionOptions.attachTargets}. */
export interface AttachTargetOption {
  program: KernelProgram;
  /** Function name in the target's BTF; default the one the section names. */
  function?: string;
}

export class KernelCollection implements Collection {
  readonly backend = 'kernel' as const;
  readonly maps: ReadonlyMap<string, KernelMap>;
  readonly programs: ReadonlyMap<string, KernelProgram>;
  readonly #spec: ObjectSpec;
  readonly #owned: Disposable[];
  readonly #links: AutoLink[] = [];
  readonly #targets: ReadonlyMap<string, FreplaceTarget>;

  constructor(spec: ObjectSpec, maps: Map<string, KernelMap>, programs: Map<string, KernelProgram>, owned: Disposable[], targets: ReadonlyMap<string, FreplaceTarget> = new Map()) {
    this.#spec = spec;
    this.maps = maps;
    this.programs = programs;
    this.#owned = owned;
    this.#targets = targets;
  }

  /**
   * Attach program `name` where its section name says (tracepoints, raw tracepoints,
   * tp_btf/fentry/fexit/lsm, freplace (to the target given at load, again after every
   * detach), uprobes, and USDT probes, which get the object's `__bpf_usdt_specs` map when
   * it defines one). The link belongs to the collection: close() detaches it, and so does
   * closing the link.
   */
  attach(name: string): AutoLink {
    const program = this.program(name);
    const spec = this.#spec.programs.find((p) => p.name === name)!;
    const target = this.#targets.get(name);
    const link = autoAttach(program, spec, { ...(this.maps.has(USDT_SPECS_MAP) && { usdtSpecs: this.maps.get(USDT_SPECS_MAP)! }), ...(target && { freplaceTarget: target }) });
    this.#links.push(link);
    return link;
  }

  /** Register struct_ops map `name` (a `.struct_ops.link` variable) with a link owned by the collection. */
  attachStructOps(name: string): KernelLink {
    const map = this.map(name);
    if (map.type !== MapType.STRUCT_OPS || !(map.flags & MapFlags.LINK)) {
      throw new Error(`map ${name} is not a struct_ops map declared in .struct_ops.link`);
    }
    const link = attachStructOps(map);
    this.#links.push(link);
    return link;
  }

  /**
   * Attach every program whose section name says where, and register every
   * `.struct_ops.link` map; returns the links (owned by the collection).
   */
  attachAll(): AutoLink[] {
    const links: AutoLink[] = this.#spec.programs.filter((p) => this.programs.has(p.name) && canAutoAttach(p)).map((p) => this.attach(p.name));
    for (const m of this.#spec.maps) {
      if (m.type === MapType.STRUCT_OPS && m.flags & MapFlags.LINK && this.maps.has(m.name)) links.push(this.attachStructOps(m.name));
    }
    return links;
  }

  /** The current bytes of global variable `name` (read from its data map). */
  variable(name: string): Uint8Array {
    const variable = this.#spec.variables.find((v) => v.name === name && v.linkage === 'global') ?? this.#spec.variables.find((v) => v.name === name);
    if (!variable) throw new Error(`no global variable ${name} (variables: ${this.#spec.variables.map((v) => v.name).join(', ') || 'none'})`);
    const value = this.map(variable.map).lookup(new Uint8Array(4));
    if (!value) throw new Error(`map ${variable.map} holds no value`);
    return value.slice(variable.offset, variable.offset + variable.size);
  }

  /** The map named `name`. @throws Error naming the maps there are. */
  map(name: string): KernelMap {
    const map = this.maps.get(name);
    if (!map) throw new Error(`no map ${name} in this collection (maps: ${[...this.maps.keys()].join(', ') || 'none'})`);
    return map;
  }

  /** The program named `name` (its function name). @throws Error naming the programs there are. */
  program(name: string): KernelProgram {
    const program = this.programs.get(name);
    if (!program) throw new Error(`no program ${name} in this collection (programs: ${[...this.programs.keys()].join(', ') || 'none'})`);
    return program;
  }

  /** Release every map and program this collection created. Pinned maps live on in bpffs. */
  close(): void {
    for (const link of this.#links.splice(0)) link.close();
    for (const d of this.#owned.splice(0).reverse()) d[Symbol.dispose]();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Load `spec` into the kernel. @throws VerifierError, BpfError, RelocationError. */
export function loadCollection(spec: ObjectSpec, options: CollectionOptions = {}): KernelCollection {
  const owned: Disposable[] = [];
  const newPins: string[] = [];
  try {
    const localBtf = objectBtf(spec);
    let btf: KernelBtf | undefined;
    if (localBtf) {
      try {
        btf = KernelBtf.load(kernelReadyBtf(localBtf, spec));
        owned.push(btf);
      } catch (error) {
        // libbpf carries on without BTF when the kernel refuses it, unless something needs it.
        const needing = spec.maps.find((m) => mapNeedsBtf(m, localBtf));
        if (needing) {
          if (error instanceof BpfError) error.message += ` (map ${needing.name} cannot be created without the object's BTF)`;
          throw error;
        }
      }
    }

    const maps = new Map<string, KernelMap>();
    const data = initialDataWith(spec, options.variables ?? {});
    for (const mapSpec of spec.maps) {
      const replacement = options.replaceMaps?.[mapSpec.name];
      if (replacement) {
        checkCompatible(mapSpec, replacement, 'replacement map');
        maps.set(mapSpec.name, replacement);
        continue;
      }
      const pinPath = mapSpec.pinning === 'by_name' ? join(options.pinPath ?? '/sys/fs/bpf', mapSpec.name) : undefined;
      if (pinPath && existsSync(pinPath)) {
        const pinned = KernelMap.fromPin(pinPath);
        owned.push(pinned);
        checkCompatible(mapSpec, pinned, `map pinned at ${pinPath}`);
        maps.set(mapSpec.name, pinned);
        continue;
      }
      const map = mapSpec.type === MapType.STRUCT_OPS ? createStructOpsMap(mapSpec, btf) : createMapFromSpec(mapSpec, btf, mapNeedsBtf(mapSpec, localBtf));
      owned.push(map);
      maps.set(mapSpec.name, map);
      initialiseData(map, mapSpec, data.get(mapSpec.name), spec, localBtf);
      if (pinPath) {
        ensureBpffsDirectory(dirname(pinPath));
        map.pin(pinPath);
        newPins.push(pinPath);
      }
    }

    const programs = new Map<string, KernelProgram>();
    const targets = new Map<string, FreplaceTarget>();
    const wanted = options.programs ? new Set(options.programs) : undefined;
    for (const programSpec of spec.programs) {
      if (wanted && !wanted.has(programSpec.name)) continue;
      const target = attachTargetOf(programSpec, options.attachTargets?.[programSpec.name]);
      if (target && programSpec.type === ProgType.EXT) targets.set(programSpec.name, target);
      const instructions = relocateProgram(programSpec, {
        mapFd: (name) => maps.get(name)?.fd,
        externs: spec.externs,
        localBtf,
      });
      const structOps = programSpec.type === ProgType.STRUCT_OPS ? structOpsProgramTarget(spec, programSpec.name) : undefined;
      const program = KernelProgram.load({
        type: programSpec.type,
        name: programSpec.name,
        instructions,
        license: spec.license,
        kernelVersion: spec.kernelVersion,
        flags: programSpec.flags,
        ...(programSpec.expectedAttachType !== undefined && { expectedAttachType: programSpec.expectedAttachType }),
        ...(structOps && { attachBtfId: structOps.attachBtfId, expectedAttachType: structOps.memberIndex }),
        ...(!target &&
          needsAttachBtfId(programSpec.type, programSpec.expectedAttachType) &&
          programSpec.attachTarget && { attachBtfId: attachBtfId(programSpec.type, programSpec.expectedAttachType, programSpec.attachTarget) }),
        ...(target && { attachFd: target.program.fd, attachBtfId: programFunctionBtfId(target.program, target.function) }),
        ...(btf && { btfFd: btf.fd, funcInfo: programSpec.funcInfo, lineInfo: programSpec.lineInfo }),
        ...(options.logLevel !== undefined && { logLevel: options.logLevel }),
        ...(options.logSize !== undefined && { logSize: options.logSize }),
      });
      owned.push(program);
      programs.set(programSpec.name, program);
    }

    // Prog arrays and maps of maps, from their `values = { ... }` initialisers.
    for (const mapSpec of spec.maps) {
      if (!mapSpec.initialSlots?.length || options.replaceMaps?.[mapSpec.name]) continue;
      const map = maps.get(mapSpec.name)!;
      for (const { index, name } of mapSpec.initialSlots) {
        const target = mapSpec.type === MapType.PROG_ARRAY ? programs.get(name) : maps.get(name);
        if (!target) {
          if (mapSpec.type === MapType.PROG_ARRAY && wanted) continue; // not loaded on request
          throw new Error(`map ${mapSpec.name} slot ${index} refers to ${name}, which the collection does not have`);
        }
        const key = new Uint8Array(map.keySize);
        new DataView(key.buffer).setUint32(0, index, true);
        map.updateFd(key, target.fd);
      }
    }

    // struct_ops maps: their value names the programs (BPF_F_LINK maps register on attach).
    for (const mapSpec of spec.maps) {
      if (mapSpec.type !== MapType.STRUCT_OPS || options.replaceMaps?.[mapSpec.name]) continue;
      if (!localBtf) throw new Error(`struct_ops map ${mapSpec.name} needs the object's BTF`);
      const value = structOpsValue(mapSpec, localBtf, (name) => programs.get(name)?.fd);
      maps.get(mapSpec.name)!.update(new Uint8Array(4), value);
    }

    // The BTF fd is only needed while loading: maps and programs hold their own references.
    if (btf) {
      owned.splice(owned.indexOf(btf), 1);
      btf.close();
    }
    return new KernelCollection(spec, maps, programs, owned, targets);
  } catch (error) {
    for (const d of owned.reverse()) d[Symbol.dispose]();
    for (const pin of newPins) if (existsSync(pin)) unlinkSync(pin);
    throw error;
  }
}

function createStructOpsMap(spec: MapSpec, btf: KernelBtf | undefined): KernelMap {
  if (!spec.structOps) throw new Error(`struct_ops map ${spec.name} has no struct_ops description`);
  const kernel = structOpsKernelType(spec.structOps.typeName);
  return createMap({
    type: MapType.STRUCT_OPS,
    name: spec.name,
    keySize: 4,
    valueSize: kernel.valueSize,
    maxEntries: 1,
    flags: spec.flags,
    btf: { fd: btf?.fd ?? 0, keyTypeId: 0, valueTypeId: 0, vmlinuxValueTypeId: kernel.valueTypeId },
  });
}

/**
 * The function of another program that `spec` attaches to: required for freplace, an
 * option for fentry/fexit (a BPF program's function instead of a kernel one).
 */
function attachTargetOf(spec: ProgramSpec, given: KernelProgram | AttachTargetOption | undefined): FreplaceTarget | undefined {
  if (!given) {
    if (spec.type !== ProgType.EXT) return undefined;
    throw new Error(
      `program ${spec.name} (section ${spec.sectionName}) replaces a function of another program: ` +
        `load that program first and give it as options.attachTargets = { ${spec.name}: targetProgram }`,
    );
  }
  if (spec.type !== ProgType.EXT && spec.type !== ProgType.TRACING) {
    throw new Error(`program ${spec.name} (section ${spec.sectionName}) cannot attach to another program: attachTargets is for freplace and fentry/fexit programs`);
  }
  const option = given instanceof KernelProgram ? { program: given } : given;
  const fn = option.function ?? spec.attachTarget;
  if (!fn) throw new Error(`program ${spec.name} (section ${spec.sectionName}) names no function: give attachTargets.${spec.name}.function`);
  return { program: option.program, function: fn };
}

/**
 * Can this map only exist with BTF? Local storages, and values holding a field the kernel
 * manages (bpf_spin_lock, bpf_timer, kptr, ...): without BTF the kernel does not know the
 * field is there, and the program that uses it fails to load.
 */
function mapNeedsBtf(spec: MapSpec, btf: Btf | undefined): boolean {
  if (mapKind(spec.type).needsBtf) return true;
  return btf !== undefined && spec.valueTypeId !== undefined && spec.valueTypeId !== 0 && hasSpecialField(btf, spec.valueTypeId);
}

function createMapFromSpec(spec: MapSpec, btf: KernelBtf | undefined, needsBtf: boolean): KernelMap {
  const isData = spec.initialData !== undefined && spec.type === MapType.ARRAY && spec.initialSlots === undefined;
  const options: MapOptions = {
    type: spec.type,
    name: spec.name,
    keySize: spec.keySize,
    valueSize: spec.valueSize,
    maxEntries: spec.type === MapType.PERF_EVENT_ARRAY && spec.maxEntries === 0 ? possibleCpus() : spec.maxEntries,
    flags: spec.flags | (spec.readOnly ? MapFlags.RDONLY_PROG : 0),
    ...(spec.numaNode !== undefined && { numaNode: spec.numaNode }),
    ...(spec.mapExtra !== undefined && { mapExtra: spec.mapExtra }),
    ...(spec.innerMap && { innerMap: innerOptions(spec.innerMap) }),
  };
  if (btf && (spec.valueTypeId !== undefined || spec.keyTypeId !== undefined) && !spec.innerMap && spec.type !== MapType.PROG_ARRAY) {
    try {
      return createMap({ ...options, btf: { fd: btf.fd, keyTypeId: isData ? 0 : (spec.keyTypeId ?? 0), valueTypeId: spec.valueTypeId ?? 0 } });
    } catch (error) {
      // Like libbpf: retry without BTF unless the map type cannot exist without it.
      if (!(error instanceof BpfError) || needsBtf) throw error;
    }
  }
  return createMap(options);
}

function innerOptions(spec: MapSpec): MapOptions {
  return { type: spec.type, name: spec.name, keySize: spec.keySize, valueSize: spec.valueSize, maxEntries: spec.maxEntries, flags: spec.flags };
}

function initialiseData(map: KernelMap, spec: MapSpec, data: Uint8Array | undefined, object: ObjectSpec, btf: Btf | undefined): void {
  let bytes = data ?? (spec.initialData && spec.type === MapType.ARRAY && !spec.initialSlots ? spec.initialData : undefined);
  if (spec.name === '.kconfig') {
    bytes = new Uint8Array(spec.valueSize);
    fillKconfig(bytes, object.externs, btf);
  }
  if (bytes) {
    const value = bytes.length === map.valueSize ? bytes : padTo(bytes, map.valueSize);
    map.update(new Uint8Array(4), value);
  }
  if (spec.readOnly || spec.name === '.kconfig') map.freeze();
}

function padTo(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(bytes.subarray(0, size));
  return out;
}

/**
 * Check, without loading anything, that the maps of `spec` pinned by name under
 * `pinPath` (those that exist) have the shapes the object expects: what loadCollection
 * would refuse, found before a caller changes anything else.
 * @throws Error naming the first incompatible map and how it differs.
 */
export function checkPinnedMaps(spec: ObjectSpec, pinPath = '/sys/fs/bpf'): void {
  for (const mapSpec of spec.maps) {
    const path = join(pinPath, mapSpec.name);
    if (mapSpec.pinning !== 'by_name' || !existsSync(path)) continue;
    using pinned = KernelMap.fromPin(path);
    checkCompatible(mapSpec, pinned, `map pinned at ${path}`);
  }
}

/** A pinned or replacement map must have the shape the object expects. */
function checkCompatible(spec: MapSpec, map: KernelMap, what: string): void {
  const want = { type: spec.type, keySize: spec.keySize, valueSize: spec.valueSize, maxEntries: spec.maxEntries, flags: spec.flags };
  const have = { type: map.type, keySize: map.keySize, valueSize: map.valueSize, maxEntries: map.maxEntries, flags: map.flags };
  const diffs = (Object.keys(want) as Array<keyof typeof want>).filter((k) => want[k] !== have[k]);
  if (diffs.length > 0) {
    const describe = (o: typeof want) => `${mapTypeLabel(o.type)} key ${o.keySize} value ${o.valueSize} max_entries ${o.maxEntries} flags 0x${o.flags.toString(16)}`;
    throw new Error(`map ${spec.name}: the ${what} is incompatible (${diffs.join(', ')} differ): it is ${describe(have)}, the object wants ${describe(want)}`);
  }
}
