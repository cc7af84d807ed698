/**
 * Attaching a program from its section name, as libbpf's auto-attach does: tracepoints,
 * raw tracepoints, BTF-based tracing (tp_btf, fentry, fexit, fmod_ret, lsm), freplace
 * (to the program given at load), uprobes ("uprobe/path:symbol"), uprobe_multi
 * ("uprobe.multi/path:glob", one link for every matching function) and USDT probes ("usdt/path:provider:name", with the object's
 * `__bpf_usdt_specs` map wired in when it has one, so bpf_usdt_arg() works). Hooks
 * that need a target the section cannot name (a cgroup, a device, a socket) are attached
 * with the functions in attach.ts instead.
 */
import type { ProgramSpec } from '../elf/object-spec.js';
import { AttachType, ProgType } from '../uapi/index.js';
import { attachIterator } from './iterator.js';
import { attachFreplace, attachRawTracepoint, attachTracepoint, attachTracing, type FreplaceTarget } from './attach.js';
import type { KernelLink } from './link.js';
import type { KernelMap } from './map.js';
import type { KernelProgram } from './program.js';
import { attachUprobe } from './uprobe.js';
import { attachUprobeMulti } from './uprobe-multi.js';
import { attachUsdt, type UsdtLink } from './usdt.js';

/** What auto-attach returns: a bpf_link, or for a USDT probe one link per probe site. */
export type AutoLink = KernelLink | UsdtLink;

/** The name libbpf's usdt.bpf.h gives its spec map. */
export const USDT_SPECS_MAP = '__bpf_usdt_specs';

function isUsdt(spec: ProgramSpec): boolean {
  return spec.type === ProgType.KPROBE && /^usdt(\.s)?\//.test(spec.sectionName);
}

/** "path:provider:name" split from the right (a path has no colons in libbpf either). */
function usdtTarget(target: string): { path: string; provider: string; name: string } | undefined {
  const m = /^([^:]+):([^:]+):([^:]+)$/.exec(target);
  return m ? { path: m[1]!, provider: m[2]!, name: m[3]! } : undefined;
}

function isUprobeMulti(spec: ProgramSpec): boolean {
  return spec.type === ProgType.KPROBE && spec.expectedAttachType === AttachType.TRACE_UPROBE_MULTI;
}

function isUprobe(spec: ProgramSpec): boolean {
  return spec.type === ProgType.KPROBE && /^u(ret)?probe/.test(spec.sectionName) && !isUprobeMulti(spec);
}

/** What auto-attach needs beyond the program and its section name. */
export interface AutoAttachContext {
  /** The object's `__bpf_usdt_specs` map, for USDT programs. */
  usdtSpecs?: KernelMap;
  /** The function an freplace program replaces (attached explicitly, so a re-attach works too). */
  freplaceTarget?: FreplaceTarget;
}

/** Can `spec` be attached from its section name alone? */
export function canAutoAttach(spec: ProgramSpec): boolean {
  if (!spec.autoAttach || !spec.attachTarget) return false;
  if (isUprobe(spec) || isUprobeMulti(spec)) return spec.attachTarget.includes(':');
  if (isUsdt(spec)) return usdtTarget(spec.attachTarget) !== undefined;
  return spec.type === ProgType.TRACEPOINT || spec.type === ProgType.RAW_TRACEPOINT || spec.type === ProgType.TRACING || spec.type === ProgType.LSM || spec.type === ProgType.EXT;
}

/**
 * Attach `program` (loaded from `spec`) where its section name says; `context` gives
 * what the section cannot (a USDT spec map, an freplace target). @throws Error when it cannot be.
 */
export function autoAttach(program: KernelProgram, spec: ProgramSpec, context: AutoAttachContext = {}): AutoLink {
  const { usdtSpecs } = context;
  if (!canAutoAttach(spec)) {
    throw new Error(`program ${spec.name} (section ${spec.sectionName}) cannot be attached from its section name: attach it with attachCgroup/attachXdp/... and its target`);
  }
  const target = spec.attachTarget!;
  if (isUsdt(spec)) {
    const { path, provider, name } = usdtTarget(target)!;
    return attachUsdt(program, path, provider, name, usdtSpecs ? { specs: usdtSpecs } : {});
  }
  if (isUprobeMulti(spec)) {
    // "path:pattern", the pattern a glob over the binary's function names
    const colon = target.lastIndexOf(':');
    return attachUprobeMulti(program, target.slice(0, colon), { pattern: target.slice(colon + 1), retprobe: spec.sectionName.startsWith('uretprobe') });
  }
  if (isUprobe(spec)) {
    // "path:symbol" or "path:symbol+offset"
    const colon = target.lastIndexOf(':');
    const [symbol = '', offset] = target.slice(colon + 1).split('+');
    return attachUprobe(program, target.slice(0, colon), symbol, {
      retprobe: spec.sectionName.startsWith('uretprobe'),
      ...(offset !== undefined && { offset: Number(offset) }),
    });
  }
  if (spec.type === ProgType.TRACING && spec.expectedAttachType === AttachType.TRACE_ITER) return attachIterator(program);
  if (spec.type === ProgType.EXT) return attachFreplace(program, context.freplaceTarget);
  switch (spec.type) {
    case ProgType.TRACEPOINT: {
      const slash = target.indexOf('/');
      if (slash < 0) throw new Error(`program ${spec.name}: tracepoint "${target}" is not category/name`);
      return attachTracepoint(program, target.slice(0, slash), target.slice(slash + 1));
    }
    case ProgType.RAW_TRACEPOINT:
      return attachRawTracepoint(program, target);
    default:
      return attachTracing(program);
  }
}
