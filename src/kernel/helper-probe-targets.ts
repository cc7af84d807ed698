/**
 * Real attach targets for helper probes of the program types that cannot load without
 * one (tracing, lsm, ext, struct_ops). libbpf gives up on these types (EOPNOTSUPP); we
 * load against a target every kernel with BTF has, once per attach flavour, because the
 * helpers a type may call depend on how it attaches (bpf_seq_printf only in iterators,
 * bpf_get_func_arg only in fentry/fexit). A flavour the kernel refuses to load here
 * (fentry and lsm are EPERM under lockdown even as root) leaves its helpers unknown.
 */
import type { ProgTypeName } from '../uapi/index.js';
import { AttachType } from '../uapi/index.js';
import type { ProgramLoadOptions } from './program-load.js';
import { structOpsKernelType } from './struct-ops.js';
import { vmlinuxBtf } from './vmlinux.js';

/** One way to load a program of a type that needs a target. */
export interface HelperProbeTarget {
  /** "tp_btf", "iter", "fentry", … */
  flavour: string;
  /** Load options for it, or why none could be found on this kernel. */
  load: Partial<ProgramLoadOptions> | { missing: string };
}

function btfId(name: string, kind: 'func' | 'typedef' | 'struct'): number | undefined {
  return vmlinuxBtf().findByName(name, kind)?.id;
}

function target(flavour: string, expectedAttachType: number, name: string, kind: 'func' | 'typedef'): HelperProbeTarget {
  const id = btfId(name, kind);
  return { flavour, load: id === undefined ? { missing: `no ${kind} ${name} in vmlinux BTF` } : { expectedAttachType, attachBtfId: id, license: 'GPL' } };
}

function structOpsTarget(): HelperProbeTarget {
  const flavour = 'tcp_congestion_ops';
  try {
    const ops = structOpsKernelType(flavour);
    // ssthresh returns u32 and takes a sock: an r0 = 0 body is a valid implementation.
    const member = ops.members.get('ssthresh');
    if (!member) return { flavour, load: { missing: 'tcp_congestion_ops has no ssthresh member' } };
    return { flavour, load: { expectedAttachType: member.index, attachBtfId: ops.structId, license: 'GPL' } };
  } catch (error) {
    return { flavour, load: { missing: (error as Error).message } };
  }
}

/**
 * The targets to probe helpers of `type` against; undefined for types that load without
 * a target. An empty list: no target can be made (ext needs another BPF program with BTF).
 */
export function helperProbeTargets(type: ProgTypeName): HelperProbeTarget[] | undefined {
  switch (type) {
    case 'TRACING':
      return [
        target('tp_btf', AttachType.TRACE_RAW_TP, 'btf_trace_sys_enter', 'typedef'),
        target('iter', AttachType.TRACE_ITER, 'bpf_iter_task', 'func'),
        // fexit and fmod_ret have fentry's helpers (plus bpf_get_func_ret), and need the same trampolines.
        target('fentry/fexit/fmod_ret', AttachType.TRACE_FENTRY, 'bpf_fentry_test1', 'func'),
      ];
    case 'LSM':
      return [target('lsm', AttachType.LSM_MAC, 'bpf_lsm_file_open', 'func')];
    case 'STRUCT_OPS':
      // Each struct_ops type has its own helper set; only one is probed, so a helper it
      // refuses is unknown, not absent.
      return [structOpsTarget(), { flavour: 'other struct_ops types', load: { missing: 'each has its own helper set; only tcp_congestion_ops is probed' } }];
    case 'EXT':
      return [];
    default:
      return undefined;
  }
}
