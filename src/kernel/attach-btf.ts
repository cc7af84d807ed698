/**
 * BTF ids of attach targets the kernel wants at load time (attach_btf_id): fentry/fexit/
 * fmod_ret functions, LSM hooks, BTF-enabled tracepoints and iterators, resolved in
 * vmlinux BTF with libbpf's naming conventions.
 */
import { AttachType, ProgType } from '../uapi/index.js';
import { vmlinuxBtf } from './vmlinux.js';

/** Does this program type/attach type need attach_btf_id at load? */
export function needsAttachBtfId(type: number, expectedAttachType: number | undefined): boolean {
  if (type === ProgType.LSM) return true;
  if (type !== ProgType.TRACING) return false;
  return expectedAttachType !== undefined;
}

/** The vmlinux BTF id for `target` of a program, e.g. "tcp_connect" for fentry. */
export function attachBtfId(type: number, expectedAttachType: number | undefined, target: string): number {
  const btf = vmlinuxBtf();
  let name = target;
  let kind: 'func' | 'typedef' = 'func';
  if (type === ProgType.LSM) name = `bpf_lsm_${target}`;
  else if (expectedAttachType === AttachType.TRACE_RAW_TP) {
    name = `btf_trace_${target}`;
    kind = 'typedef';
  } else if (expectedAttachType === AttachType.TRACE_ITER) name = `bpf_iter_${target}`;
  const found = btf.findByName(name, kind);
  if (!found) throw new Error(`attach target ${target} (${kind} ${name}) is not in this kernel's BTF`);
  return found.id;
}
