import type { CoreRelocation, FuncInfo, LineInfo } from '../btf/ext.js';
import type { Instruction } from '../isa/instruction.js';

export type { CoreRelocation, FuncInfo, LineInfo };

/**
 * The one parsed model of a BPF object file. Both backends (kernel and vm) load an
 * ObjectSpec; neither re-parses ELF. Produced by the ELF layer from a clang-compiled
 * object (libbpf conventions), or built by hand.
 *
 * Everything here is plain data: it can be cloned, serialised to JSON (BigInt aside),
 * and edited before load (for example `.rodata` values).
 */
export interface ObjectSpec {
  /** Byte order of the object. */
  endian: 'little' | 'big';
  /** The `license` section, e.g. "GPL" or "Dual BSD/GPL". */
  license: string;
  /** The `version` section (legacy kprobe requirement); 0 when absent. */
  kernelVersion: number;
  programs: ProgramSpec[];
  /** Every map: BTF-defined `.maps`, legacy `maps`, and the global-data maps. */
  maps: MapSpec[];
  /** Global variables in the data sections, with their map and offset. */
  variables: VariableSpec[];
  /** `.kconfig` and `.ksyms` externs. */
  externs: ExternSpec[];
  /**
   * Global functions with hidden visibility (`__hidden`, as in libbpf's usdt.bpf.h): like
   * libbpf, a backend verifies them as static functions (their BTF FUNC made static).
   */
  hiddenFunctions?: string[];
  /** The raw `.BTF` section, when present (the btf layer parses it). */
  btfData?: Uint8Array;
  /** The raw `.BTF.ext` section, when present. */
  btfExtData?: Uint8Array;
}

/** One program: an entry function with the subprograms it calls appended. */
export interface ProgramSpec {
  /** Function (symbol) name of the entry point. */
  name: string;
  /** ELF section the function sits in, e.g. "sk_msg" or "tracepoint/sched/sched_switch". */
  sectionName: string;
  /** `enum bpf_prog_type` value. */
  type: number;
  /** `enum bpf_attach_type` value the kernel expects at load, when the type needs one. */
  expectedAttachType?: number;
  /**
   * What to attach to, decoded from the section name: a tracepoint "category/name", a BTF
   * function name for fentry/lsm/tp_btf, "path:symbol" for uprobes, an iterator name, ...
   */
  attachTarget?: string;
  /** Load flags (BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS, ...). */
  flags: number;
  /** Can be attached automatically from its section name (libbpf's auto-attach)? */
  autoAttach: boolean;
  /**
   * Load it with the object? False for libbpf's `SEC("?name")` programs, which are only
   * loaded on request. Absent means true.
   */
  autoLoad?: boolean;
  /**
   * Entry function first, then every subprogram it calls, with call offsets fixed.
   * From loadObjectSpec the Instruction objects are frozen and may be shared between
   * programs (a subprogram's code is the same in each); copy them to patch them, as the
   * loaders do. The array itself belongs to the program.
   */
  instructions: Instruction[];
  /** Names of the subprograms appended after the entry function, in order. */
  subprograms: string[];
  /** What must be patched at load time. `slot` indexes `instructions` by 8-byte slot. */
  relocations: Relocation[];
  /** BTF func_info for the combined instructions (slot offsets), from .BTF.ext. */
  funcInfo: FuncInfo[];
  /** BTF line_info for the combined instructions (slot offsets), from .BTF.ext. */
  lineInfo: LineInfo[];
  /** CO-RE relocations for the combined instructions (slot offsets), from .BTF.ext. */
  coreRelocations: CoreRelocation[];
}

/** A load-time patch of one instruction. */
export type Relocation =
  /** lddw of a map: becomes a map fd (pseudo MAP_FD). */
  | { kind: 'map'; slot: number; map: string }
  /**
   * lddw of an address in a data-section map: becomes a map value pointer (pseudo
   * MAP_VALUE). `offset` is the byte offset in the value (the symbol's offset plus the
   * addend clang left in imm); the loader puts the map fd in imm and `offset` in imm2.
   */
  | { kind: 'map_value'; slot: number; map: string; offset: number }
  /** A `.kconfig` extern: lddw into the `.kconfig` map, or a constant once resolved. */
  | { kind: 'kconfig'; slot: number; name: string }
  /** A `.ksyms` variable (lddw pseudo BTF_ID) or function (call kfunc). */
  | { kind: 'ksym'; slot: number; name: string; isFunction: boolean; weak: boolean }
  /**
   * A call to a kfunc by name. The ELF layer already sets the call's src to
   * BPF_PSEUDO_KFUNC_CALL; the loader puts the kfunc's BTF id in imm (and the BTF fd
   * index in off for module kfuncs).
   */
  | { kind: 'kfunc'; slot: number; name: string; weak: boolean };

/** `enum bpf_core_relo_kind`; the BTF layer owns it (as CoreKind). */
export { CoreKind as CoreReloKind } from '../btf/core/kinds.js';

/** A map to create. Global data maps have `initialData`. */
export interface MapSpec {
  /** Name in the object: the variable name, or ".data", ".rodata", ".bss", ".rodata.str1.1", ".kconfig". */
  name: string;
  /** `enum bpf_map_type` value. */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  numaNode?: number;
  /** libbpf pinning: 'none' or 'by_name' (LIBBPF_PIN_BY_NAME). */
  pinning: 'none' | 'by_name';
  /** BTF type ids of key and value in the object's BTF, when known. */
  keyTypeId?: number;
  valueTypeId?: number;
  /** For maps of maps: the inner map's definition. */
  innerMap?: MapSpec;
  /** Initial contents: for global data the section bytes; for prog arrays/maps of maps, slot -> name. */
  initialData?: Uint8Array;
  /** `values` initialisers of prog arrays and maps of maps: index -> program or map name. */
  initialSlots?: Array<{ index: number; name: string }>;
  /** Section the definition came from. */
  sectionName: string;
  /** For global data: is it read-only (.rodata)? The kernel map gets BPF_F_RDONLY_PROG and is frozen. */
  readOnly?: boolean;
  /** Extra flags a map_extra field carries (bloom filter hash count, arena address). */
  mapExtra?: bigint;
  /**
   * For struct_ops maps (`.struct_ops` / `.struct_ops.link` variables): the kernel struct
   * they implement and the program behind each function pointer. `initialData` holds the
   * variable's bytes in the object's own layout, `valueTypeId` its local BTF struct; the
   * loader translates both to the kernel's `bpf_struct_ops_<name>` value.
   */
  structOps?: StructOpsSpec;
}

export interface StructOpsSpec {
  /** The struct's name, e.g. "tcp_congestion_ops". */
  typeName: string;
  /** Function-pointer members set to programs, in relocation order. */
  programs: Array<{ member: string; memberIndex: number; program: string }>;
}

/** A global variable in a data section. */
export interface VariableSpec {
  name: string;
  /** The map (section) holding it: ".data", ".rodata", ".bss", ... */
  map: string;
  offset: number;
  size: number;
  /** BTF type id of the variable's type, when BTF is present. */
  typeId?: number;
  /** Global (settable before load) or static. */
  linkage: 'global' | 'static';
}

/** An extern resolved at load time. */
export interface ExternSpec {
  name: string;
  kind: 'kconfig' | 'ksym';
  /** Weak externs may be missing at load time. */
  weak: boolean;
  /** For .kconfig: offset in the .kconfig map and size. */
  offset?: number;
  size?: number;
  /** BTF type id (VAR or FUNC) in the object's BTF. */
  typeId?: number;
}
