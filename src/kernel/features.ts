/**
 * What the running kernel supports, probed the way libbpf's libbpf_probes.c does: load a
 * minimal program of each type, create a minimal map of each type, and load a program
 * calling each helper to see whether the verifier knows it for that program type
 * (against a real attach target for the types that need one, and "unknown", never
 * "supported", where this kernel will not load such a program).
 */
import { ProgramBuilder, R0, R1, R2, R3, R4, R5 } from '../isa/index.js';
import { helperName, MAX_HELPER_ID } from '../uapi/helpers.js';
import { AttachType, MapType, ProgType, progTypeName, type MapTypeName, type ProgTypeName } from '../uapi/index.js';
import { Errno } from './errno.js';
import { BpfError, VerifierError } from './errors.js';
import { helperProbeTargets, type HelperProbeTarget } from './helper-probe-targets.js';
import { createMap, type MapOptions } from './map-create.js';
import { loadProgram, type ProgramLoadOptions } from './program-load.js';
import { native } from './native.js';

/** Options that create the smallest valid map of each type (struct_ops needs a kernel struct and is left out). */
export const minimalMapOptions: Readonly<Partial<Record<MapTypeName, Omit<MapOptions, 'type'>>>> = {
  HASH: { keySize: 4, valueSize: 4, maxEntries: 1 },
  ARRAY: { valueSize: 4, maxEntries: 1 },
  PROG_ARRAY: { maxEntries: 1 },
  PERF_EVENT_ARRAY: {},
  PERCPU_HASH: { keySize: 4, valueSize: 4, maxEntries: 1 },
  PERCPU_ARRAY: { valueSize: 4, maxEntries: 1 },
  STACK_TRACE: { valueSize: 8, maxEntries: 1 },
  CGROUP_ARRAY: { maxEntries: 1 },
  LRU_HASH: { keySize: 4, valueSize: 4, maxEntries: 1 },
  LRU_PERCPU_HASH: { keySize: 4, valueSize: 4, maxEntries: 1 },
  LPM_TRIE: { keySize: 8, valueSize: 4, maxEntries: 1 },
  ARRAY_OF_MAPS: { maxEntries: 1, innerMap: { type: 'ARRAY', valueSize: 4, maxEntries: 1 } },
  HASH_OF_MAPS: { keySize: 4, maxEntries: 1, innerMap: { type: 'ARRAY', valueSize: 4, maxEntries: 1 } },
  DEVMAP: { maxEntries: 1 },
  SOCKMAP: { maxEntries: 1 },
  CPUMAP: { maxEntries: 1 },
  XSKMAP: { maxEntries: 1 },
  SOCKHASH: { keySize: 4, maxEntries: 1 },
  CGROUP_STORAGE: { keySize: 8, valueSize: 8 },
  REUSEPORT_SOCKARRAY: { maxEntries: 1 },
  PERCPU_CGROUP_STORAGE: { keySize: 8, valueSize: 8 },
  QUEUE: { valueSize: 4, maxEntries: 1 },
  STACK: { valueSize: 4, maxEntries: 1 },
  SK_STORAGE: { valueSize: 8 },
  DEVMAP_HASH: { maxEntries: 1 },
  RINGBUF: { maxEntries: 4096 },
  INODE_STORAGE: { valueSize: 8 },
  TASK_STORAGE: { valueSize: 8 },
  BLOOM_FILTER: { valueSize: 8, maxEntries: 1 },
  USER_RINGBUF: { maxEntries: 4096 },
  CGRP_STORAGE: { valueSize: 8 },
  ARENA: { maxEntries: 1 },
};

/** Load attributes some program types cannot load without. */
const programExtras: Partial<Record<ProgTypeName, Partial<ProgramLoadOptions>>> = {
  CGROUP_SOCK_ADDR: { expectedAttachType: AttachType.CGROUP_INET4_CONNECT },
  CGROUP_SOCKOPT: { expectedAttachType: AttachType.CGROUP_GETSOCKOPT },
  SK_LOOKUP: { expectedAttachType: AttachType.SK_LOOKUP },
  NETFILTER: { expectedAttachType: AttachType.NETFILTER },
  SYSCALL: { flags: 1 << 4 /* BPF_F_SLEEPABLE */ },
  TRACING: { expectedAttachType: AttachType.TRACE_RAW_TP, attachBtfId: 1 },
  LSM: { expectedAttachType: AttachType.LSM_MAC, attachBtfId: 1 },
  EXT: { attachBtfId: 1 },
  STRUCT_OPS: { attachBtfId: 1 },
};

/** Program types that only load with a real attach target: a log naming the target means the type exists. */
const NEEDS_TARGET = /attach_btf_id|is not a function|Cannot replace|struct_ops|not a valid|attach target/i;

function attempt(type: number, instructions: ReturnType<ProgramBuilder['build']>, extras: Partial<ProgramLoadOptions> = {}): { ok: boolean; log: string; errno: number } {
  try {
    const { fd } = loadProgram({ type, instructions, ...extras });
    native().close(fd);
    return { ok: true, log: '', errno: 0 };
  } catch (error) {
    if (error instanceof VerifierError) return { ok: false, log: error.log, errno: error.errno };
    if (error instanceof BpfError) return { ok: false, log: '', errno: error.errno };
    throw error;
  }
}

/**
 * Does this kernel have programs of this type? (True also when, as root, the kernel
 * refuses to load them here with EPERM — lockdown or a sandbox — since unknown types give EINVAL.)
 */
export function probeProgramType(type: number | ProgTypeName): boolean {
  const name = typeof type === 'string' ? type : progTypeName(type);
  const value = typeof type === 'number' ? type : ProgType[type];
  const extras = name ? programExtras[name] : undefined;
  const result = attempt(value, new ProgramBuilder().mov64(R0, 0).exit().build(), extras);
  // EPERM as root: the kernel knows the type but refuses it here (lockdown, sandbox); unknown types give EINVAL.
  const refusedAsRoot = result.errno === Errno.EPERM && process.getuid?.() === 0;
  return result.ok || NEEDS_TARGET.test(result.log) || refusedAsRoot;
}

/** Can maps of this type be created on this kernel? */
export function probeMapType(type: MapTypeName): boolean {
  const options = minimalMapOptions[type];
  if (!options) return type === 'STRUCT_OPS' ? probeStructOpsMaps() : false;
  try {
    createMap({ type, ...options }).close();
    return true;
  } catch (error) {
    if (error instanceof BpfError) return false;
    throw error;
  }
}

/**
 * struct_ops maps need a kernel struct to describe; as libbpf does, ask for vmlinux type 1
 * (not a struct_ops type): a kernel with struct_ops maps answers ENOTSUPP, one without EINVAL.
 */
function probeStructOpsMaps(): boolean {
  try {
    createMap({ type: MapType.STRUCT_OPS, keySize: 4, valueSize: 4, maxEntries: 1, btf: { fd: 0, keyTypeId: 0, valueTypeId: 0, vmlinuxValueTypeId: 1 } }).close();
    return true;
  } catch (error) {
    return error instanceof BpfError && error.errno === Errno.ENOTSUPP;
  }
}

const HELPER_ABSENT = /invalid func|unknown func|program of this type cannot use helper|helper call might sleep|not supported/i;

/** Does a program of `type` calling helper `helperId`, loaded with `extras`, pass the helper check? */
function helperLoads(type: number, helperId: number, extras: Partial<ProgramLoadOptions>): boolean {
  const insns = new ProgramBuilder().mov64(R1, 0).mov64(R2, 0).mov64(R3, 0).mov64(R4, 0).mov64(R5, 0).call(helperId).mov64(R0, 0).exit().build();
  const result = attempt(type, insns, { ...extras, logLevel: 1 });
  if (result.ok) return true;
  // Refused later than the helper lookup (its arguments are all 0): the helper exists.
  return !HELPER_ABSENT.test(result.log) && result.log !== '';
}

/** Why each target flavour cannot be probed here (undefined: it can), cached per process. */
const flavourRefusals = new Map<string, string | undefined>();

function flavourRefusal(type: number, target: HelperProbeTarget): string | undefined {
  const key = `${type}/${target.flavour}`;
  if (flavourRefusals.has(key)) return flavourRefusals.get(key);
  let refusal: string | undefined;
  if ('missing' in target.load) refusal = target.load.missing;
  else {
    const base = attempt(type, new ProgramBuilder().mov64(R0, 0).exit().build(), target.load);
    if (!base.ok) refusal = `the kernel refuses to load a ${target.flavour} program here (${errnoName(base.errno)})`;
  }
  flavourRefusals.set(key, refusal);
  return refusal;
}

function errnoName(errno: number): string {
  return errno === Errno.EPERM ? 'EPERM: lockdown or a sandbox, even as root' : `errno ${errno}`;
}


/**
 * Can programs of `progType` call helper `helperId`? (libbpf_probe_bpf_helper.) true or
 * false when the kernel answered; undefined when it cannot be asked here: tracing, lsm,
 * ext and struct_ops need a real attach target (helper-probe-targets.ts), and a helper
 * that no loadable flavour accepts may still belong to a flavour the kernel refuses to
 * load on this machine (fentry, lsm under lockdown) or that has no target (ext).
 */
export function probeHelper(progType: number | ProgTypeName, helperId: number): boolean | undefined {
  const value = typeof progType === 'number' ? progType : ProgType[progType];
  const name = progTypeName(value);
  const targets = name ? helperProbeTargets(name) : undefined;
  if (!targets) return helperLoads(value, helperId, name ? (programExtras[name] ?? {}) : {});
  let unanswered = targets.length === 0;
  for (const target of targets) {
    if (flavourRefusal(value, target) !== undefined) unanswered = true;
    else if (helperLoads(value, helperId, target.load as Partial<ProgramLoadOptions>)) return true;
  }
  return unanswered ? undefined : false;
}

/**
 * Why helpers of `type` are (partly) unknown on this kernel: one line per attach flavour
 * that cannot be probed; empty when every helper answer is the kernel's own.
 */
export function helperProbeGaps(type: ProgTypeName): string[] {
  const targets = helperProbeTargets(type);
  if (!targets) return [];
  if (targets.length === 0) return [`${type.toLowerCase()}: needs another BPF program (with BTF) as its target; not probed`];
  const value = ProgType[type];
  return targets.flatMap((t) => {
    const refusal = flavourRefusal(value, t);
    return refusal === undefined ? [] : [`${t.flavour}: ${refusal}`];
  });
}

export interface KernelFeatures {
  programTypes: Record<string, boolean>;
  mapTypes: Record<string, boolean>;
  /** Helpers each supported program type may call, by name (as far as the kernel answered). */
  helpers: Record<string, string[]>;
  /**
   * Helpers whose availability could not be probed, per program type: a helper no
   * loadable flavour accepts, when some flavour of the type cannot be loaded here.
   */
  helpersUnknown?: Record<string, string[]>;
  /** Why a program type's helpers are partly or wholly unknown (see helperProbeGaps). */
  helperGaps?: Record<string, string[]>;
}

/**
 * Probe everything: program types, map types, and the helpers of every supported program
 * type (or only `helperTypes`; `helpers: false` for none).
 */
export function probeFeatures(options: { helpers?: boolean; helperTypes?: readonly ProgTypeName[] } = {}): KernelFeatures {
  const programTypes: Record<string, boolean> = {};
  for (const name of Object.keys(ProgType) as ProgTypeName[]) if (name !== 'UNSPEC') programTypes[name] = probeProgramType(name);
  const mapTypes: Record<string, boolean> = {};
  for (const name of Object.keys(MapType) as MapTypeName[]) if (name !== 'UNSPEC') mapTypes[name] = probeMapType(name);
  const helpers: Record<string, string[]> = {};
  const helpersUnknown: Record<string, string[]> = {};
  const helperGaps: Record<string, string[]> = {};
  if (options.helpers !== false) {
    for (const [name, ok] of Object.entries(programTypes) as [ProgTypeName, boolean][]) {
      if (!ok || (options.helperTypes && !options.helperTypes.includes(name))) continue;
      const gaps = helperProbeGaps(name);
      const targets = helperProbeTargets(name);
      if (gaps.length > 0) helperGaps[name] = gaps;
      // Every flavour refused or untargetable: nothing to say about any helper.
      if (targets && gaps.length === targets.length + (targets.length === 0 ? 1 : 0)) continue;
      const known: string[] = [];
      const unknown: string[] = [];
      for (let id = 1; id <= MAX_HELPER_ID; id++) {
        const answer = probeHelper(name, id);
        const label = helperName(id) ?? `helper ${id}`;
        if (answer === true) known.push(label);
        else if (answer === undefined) unknown.push(label);
      }
      helpers[name] = known;
      if (unknown.length > 0) helpersUnknown[name] = unknown;
    }
  }
  return { programTypes, mapTypes, helpers, helpersUnknown, helperGaps };
}
