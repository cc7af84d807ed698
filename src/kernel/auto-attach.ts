/**
 * Attaching a program from its section name, as libbpf's auto-attach does: tracepoints,
 * raw tracepoints, BTF-based tracing (tp_btf, fentry, fexit, fmod_ret, lsm) and uprobes
 * ("uprobe/path:symbol"). Hooks
 * that need a target the section cannot name (a cgroup, a device, a socket) are attached
 * with the functions in attach.ts instead.
 */
import type { ProgramSpec } from '../elf/object-spec.js';
import { AttachType, ProgType } from '../uapi/index.js';
import { attachIterator } from './iterator.js';
import { attachRawTracepoint, attachTracepoint, attachTracing } from './attach.js';
import type { KernelLink } from './link.js';
import type { KernelProgram } from './program.js';
import { attachUprobe } from './uprobe.js';

function isUprobe(spec: ProgramSpec): boolean {
  return spec.type === ProgType.KPROBE && /^u(ret)?probe/.test(spec.sectionName);
}

/** Can `spec` be attached from its section name alone? */
export function canAutoAttach(spec: ProgramSpec): boolean {
  if (!spec.autoAttach || !spec.attachTarget) return false;
  if (isUprobe(spec)) return spec.attachTarget.includes(':');
  return spec.type === ProgType.TRACEPOINT || spec.type === ProgType.RAW_TRACEPOINT || spec.type === ProgType.TRACING || spec.type === ProgType.LSM;
}

/** Attach `program` (loaded from `spec`) where its section name says. @throws Error when it cannot be. */
export function autoAttach(program: KernelProgram, spec: ProgramSpec): KernelLink {
  if (!canAutoAttach(spec)) {
    throw new Error(`program ${spec.name} (section ${spec.sectionName}) cannot be attached from its section name: attach it with attachCgroup/attachXdp/... and its target`);
  }
  const target = spec.attachTarget!;
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
