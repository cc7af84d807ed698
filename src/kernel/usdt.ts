/**
 * USDT probes (systemtap SDT notes), attached as libbpf does: one uprobe per probe site
 * at the note's file offset, the probe's semaphore counted by the kernel (the uprobe
 * PMU's ref_ctr_offset), and each site's argument specification written to the
 * `__bpf_usdt_specs` map of libbpf's usdt.bpf.h, the spec's index passed as the BPF
 * cookie so `bpf_usdt_arg()` finds it. x86-64 argument specs only.
 */
import { readFileSync } from 'node:fs';
import { parseElf } from '../elf/elf-file.js';
import { usdtNotes, type UsdtNote } from '../elf/usdt.js';
import { attachPerfEvent } from './attach.js';
import { closeFd, type KernelLink } from './link.js';
import type { KernelMap } from './map.js';
import { cString } from './object-fd.js';
import { openPerfEvent } from './perf-event.js';
import type { KernelProgram } from './program.js';

/** `enum __bpf_usdt_arg_type` of usdt.bpf.h. */
export const UsdtArgKind = { CONST: 0, REG: 1, REG_DEREF: 2 } as const;

/** One argument of a probe, as usdt.bpf.h's `struct __bpf_usdt_arg_spec` holds it. */
export interface UsdtArgSpec {
  kind: (typeof UsdtArgKind)[keyof typeof UsdtArgKind];
  /** The constant (CONST) or the offset from the register's value (REG_DEREF). */
  valueOffset: bigint;
  /** offsetof(struct pt_regs, reg) on x86-64 (0 for CONST). */
  registerOffset: number;
  signed: boolean;
  /** 64 - 8 × the argument's size: the bits bpf_usdt_arg() clears (or sign-extends). */
  bitShift: number;
}

/** USDT_MAX_ARG_CNT of libbpf (usdt.bpf.h's BPF_USDT_MAX_ARG_CNT). */
export const USDT_MAX_ARGS = 12;
/** sizeof(struct __bpf_usdt_arg_spec) and sizeof(struct __bpf_usdt_spec) on a 64-bit target. */
const ARG_SPEC_SIZE = 16;
const SPEC_SIZE = 208;
const COOKIE_AT = ARG_SPEC_SIZE * USDT_MAX_ARGS;
const COUNT_AT = COOKIE_AT + 8;

/** x86-64 `struct pt_regs` offsets, under every name an SDT argument may use for the register. */
const PT_REGS: ReadonlyArray<[number, string[]]> = [
  [0, ['r15', 'r15d', 'r15w', 'r15b']],
  [8, ['r14', 'r14d', 'r14w', 'r14b']],
  [16, ['r13', 'r13d', 'r13w', 'r13b']],
  [24, ['r12', 'r12d', 'r12w', 'r12b']],
  [32, ['rbp', 'ebp', 'bp', 'bpl']],
  [40, ['rbx', 'ebx', 'bx', 'bl']],
  [48, ['r11', 'r11d', 'r11w', 'r11b']],
  [56, ['r10', 'r10d', 'r10w', 'r10b']],
  [64, ['r9', 'r9d', 'r9w', 'r9b']],
  [72, ['r8', 'r8d', 'r8w', 'r8b']],
  [80, ['rax', 'eax', 'ax', 'al']],
  [88, ['rcx', 'ecx', 'cx', 'cl']],
  [96, ['rdx', 'edx', 'dx', 'dl']],
  [104, ['rsi', 'esi', 'si', 'sil']],
  [112, ['rdi', 'edi', 'di', 'dil']],
  [128, ['rip', 'eip', 'ip']],
  [152, ['rsp', 'esp', 'sp', 'spl']],
];
const REGISTER_OFFSET = new Map(PT_REGS.flatMap(([offset, names]) => names.map((n) => [n, offset] as const)));

function registerOffset(name: string, arg: string): number {
  const offset = REGISTER_OFFSET.get(name);
  if (offset === undefined) throw new Error(`USDT argument "${arg}": unknown x86-64 register %${name}`);
  return offset;
}

/**
 * Parse a note's argument string ("-4@%edi 8@-8(%rbp) -4@$42") into arg specs, accepting
 * the forms libbpf accepts on x86-64: `SIZE@%reg`, `SIZE@OFF(%reg)`, `SIZE@(%reg)` and
 * `SIZE@$CONST`. @throws Error naming the argument it cannot read.
 */
export function parseUsdtArgs(text: string): UsdtArgSpec[] {
  const args = text.trim() === '' ? [] : text.trim().split(/\s+/);
  if (args.length > USDT_MAX_ARGS) throw new Error(`USDT probe has ${args.length} arguments; usdt.bpf.h holds at most ${USDT_MAX_ARGS}`);
  return args.map((arg) => {
    const m = /^(-?\d+)@(.+)$/.exec(arg);
    if (!m) throw new Error(`USDT argument "${arg}" is not SIZE@LOCATION`);
    const size = Number(m[1]);
    if (![1, 2, 4, 8].includes(Math.abs(size))) throw new Error(`USDT argument "${arg}": size ${Math.abs(size)} is not 1, 2, 4 or 8`);
    const base = { signed: size < 0, bitShift: 64 - 8 * Math.abs(size) };
    const where = m[2]!;
    let l: RegExpExecArray | null;
    if ((l = /^\$(-?(?:0x[0-9a-f]+|\d+))$/i.exec(where))) {
      return { ...base, kind: UsdtArgKind.CONST, valueOffset: BigInt.asUintN(64, parseSigned(l[1]!)), registerOffset: 0 };
    }
    if ((l = /^%([a-z0-9]+)$/.exec(where))) return { ...base, kind: UsdtArgKind.REG, valueOffset: 0n, registerOffset: registerOffset(l[1]!, arg) };
    if ((l = /^(-?(?:0x[0-9a-f]+|\d+))?\(%([a-z0-9]+)\)$/i.exec(where))) {
      const offset = l[1] === undefined ? 0n : parseSigned(l[1]);
      return { ...base, kind: UsdtArgKind.REG_DEREF, valueOffset: BigInt.asUintN(64, offset), registerOffset: registerOffset(l[2]!, arg) };
    }
    throw new Error(`USDT argument "${arg}": location "${where}" is not %reg, OFFSET(%reg) or $CONST (index registers and symbols are not supported)`);
  });
}

function parseSigned(text: string): bigint {
  return text.startsWith('-') ? -BigInt(text.slice(1)) : BigInt(text);
}

/** A probe's `struct __bpf_usdt_spec`, the value usdt.bpf.h looks up by spec id. */
export function encodeUsdtSpec(args: readonly UsdtArgSpec[], cookie = 0n): Uint8Array {
  const out = new Uint8Array(SPEC_SIZE);
  const view = new DataView(out.buffer);
  args.forEach((a, i) => {
    const at = i * ARG_SPEC_SIZE;
    view.setBigUint64(at, a.valueOffset, true);
    view.setUint32(at + 8, a.kind, true);
    view.setInt16(at + 12, a.registerOffset, true);
    view.setUint8(at + 14, a.signed ? 1 : 0);
    view.setInt8(at + 15, a.bitShift);
  });
  view.setBigUint64(COOKIE_AT, BigInt.asUintN(64, cookie), true);
  view.setInt16(COUNT_AT, args.length, true);
  return out;
}

export interface UsdtOptions {
  /**
   * The object's `__bpf_usdt_specs` map (collection.map('__bpf_usdt_specs')), for programs
   * that read arguments with bpf_usdt_arg(); without it the probe fires but arguments
   * read as -ESRCH.
   */
  specs?: KernelMap;
  /** Only this process (default: every process that runs the binary). */
  pid?: number;
  /** What bpf_usdt_cookie() returns in the program. */
  cookie?: bigint;
}

/** Spec ids in use per specs map (libbpf keeps the same free list per map). */
const usedSpecIds = new WeakMap<KernelMap, Set<number>>();

function allocateSpecId(specs: KernelMap): number {
  let used = usedSpecIds.get(specs);
  if (!used) usedSpecIds.set(specs, (used = new Set()));
  for (let id = 0; id < specs.maxEntries; id++) {
    if (!used.has(id)) {
      used.add(id);
      return id;
    }
  }
  throw new Error(`map ${specs.name} is full: all ${specs.maxEntries} USDT spec slots are in use (raise BPF_USDT_MAX_SPEC_CNT)`);
}

const PMU_DIR = '/sys/bus/event_source/devices/uprobe';

/** The uprobe PMU's type and the config bit where ref_ctr_offset (the semaphore's file offset) goes. */
function uprobePmu(): { type: number; refCtrShift: number } {
  let type: number;
  try {
    type = Number(readFileSync(`${PMU_DIR}/type`, 'utf8').trim());
  } catch (cause) {
    throw new Error(`this kernel has no uprobe PMU (${PMU_DIR}): CONFIG_UPROBE_EVENTS is off`, { cause });
  }
  let refCtrShift = 32; // PERF_UPROBE_REF_CTR_OFFSET_SHIFT, when the format file is missing
  try {
    // "config:32-63"
    const format = readFileSync(`${PMU_DIR}/format/ref_ctr_offset`, 'utf8').trim();
    refCtrShift = Number(/config:(\d+)/.exec(format)?.[1] ?? 32);
  } catch {
    // Kernels before 4.20 have no semaphore support; probes without one still attach.
    refCtrShift = -1;
  }
  return { type, refCtrShift };
}

/**
 * The uprobes of one USDT probe (a probe may have several sites, e.g. when inlined).
 * close() detaches every site, releases its spec slots, and the kernel decrements the
 * semaphore.
 */
export class UsdtLink implements Disposable {
  readonly description: string;
  /** One perf-event link per probe site. */
  readonly links: readonly KernelLink[];
  readonly #release: () => void;
  #closed = false;

  constructor(description: string, links: KernelLink[], release: () => void) {
    this.description = description;
    this.links = links;
    this.#release = release;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Detach every site. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const link of this.links) link.close();
    this.#release();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Attach a `usdt` (KPROBE-type) program to probe `provider:name` of the executable or
 * shared library at `path`. @throws Error naming the probes the binary has when there is
 * no such probe; BpfError when the kernel refuses the uprobe or the link.
 */
export function attachUsdt(program: KernelProgram, path: string, provider: string, name: string, options: UsdtOptions = {}): UsdtLink {
  const notes = usdtNotes(parseElf(readFileSync(path)));
  const sites = notes.filter((n) => n.provider === provider && n.name === name);
  const label = `usdt ${path}:${provider}:${name}`;
  if (sites.length === 0) {
    const known = [...new Set(notes.map((n) => `${n.provider}:${n.name}`))];
    throw new Error(`${path} has no USDT probe ${provider}:${name} (probes: ${known.join(', ') || 'none'})`);
  }
  const specs = sites.map((site) => ({ site, args: parseUsdtArgs(site.args) }));
  const pmu = uprobePmu();
  const links: KernelLink[] = [];
  const ids: number[] = [];
  const release = () => {
    const used = options.specs && usedSpecIds.get(options.specs);
    for (const id of ids) used?.delete(id);
  };
  try {
    for (const { site, args } of specs) {
      let specId = 0;
      if (options.specs) {
        specId = allocateSpecId(options.specs);
        ids.push(specId);
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, specId, true);
        options.specs.update(key, encodeUsdtSpec(args, options.cookie ?? 0n));
      }
      links.push(attachSite(program, path, site, pmu, specId, options.pid, label));
    }
  } catch (error) {
    for (const link of links) link.close();
    release();
    throw error;
  }
  return new UsdtLink(label, links, release);
}

function attachSite(program: KernelProgram, path: string, site: UsdtNote, pmu: { type: number; refCtrShift: number }, specId: number, pid: number | undefined, label: string): KernelLink {
  if (site.pcOffset === undefined) throw new Error(`${label}: no loadable segment holds the probe address 0x${site.pc.toString(16)}`);
  let config = 0n;
  if (site.semaphore !== 0) {
    if (site.semaphoreOffset === undefined) throw new Error(`${label}: no loadable segment holds the semaphore at 0x${site.semaphore.toString(16)}`);
    if (pmu.refCtrShift < 0) throw new Error(`${label}: the probe has a semaphore and this kernel's uprobes cannot count one (ref_ctr_offset, Linux 4.20)`);
    // The kernel increments the semaphore in every process that maps the binary, and
    // decrements it when the uprobe goes: no writes to /proc/PID/mem needed.
    config = BigInt(site.semaphoreOffset) << BigInt(pmu.refCtrShift);
  }
  const perfFd = openPerfEvent({
    type: pmu.type,
    config,
    config1: cString(path),
    config2: BigInt(site.pcOffset),
    pid: pid ?? -1,
    cpu: pid === undefined ? 0 : -1,
    samplePeriod: 1,
  });
  try {
    return attachPerfEvent(program, perfFd, BigInt(specId), `${label} site 0x${site.pcOffset.toString(16)}`);
  } finally {
    closeFd(perfFd);
  }
}
