/**
 * The BTF a loaded program carries (the object BTF it was loaded with), read back from
 * the kernel: freplace programs and fentry/fexit on BPF programs name their target as a
 * FUNC's id in that BTF.
 */
import { Btf } from '../btf/btf.js';
import { BpfCmd } from './bpf-attr.js';
import { BtfInfoLayout, ProgInfoLayout } from './bpf-info.js';
import { encodeStruct, readField, stableBuffer } from './layout.js';
import { native } from './native.js';
import { fdById, objectInfo } from './object-fd.js';
import type { KernelProgram } from './program.js';

/** The BTF `program` was loaded with. @throws Error when it was loaded without BTF. */
export function programBtf(program: KernelProgram): Btf {
  const btfId = readField(ProgInfoLayout, objectInfo(program.fd, ProgInfoLayout), 'btf_id');
  if (btfId === 0) {
    throw new Error(`program ${program.name} was loaded without BTF: load it from an object compiled with -g (its functions are named in BTF)`);
  }
  const fd = fdById(BpfCmd.BTF_GET_FD_BY_ID, btfId, { subject: `BTF id ${btfId} of program ${program.name}` });
  try {
    const size = readField(BtfInfoLayout, objectInfo(fd, BtfInfoLayout), 'btf_size');
    const bytes = stableBuffer(size);
    objectInfo(fd, BtfInfoLayout, encodeStruct(BtfInfoLayout, { btf: bytes, btf_size: size }));
    return Btf.parse(bytes);
  } finally {
    native().close(fd);
  }
}

/**
 * The BTF id of function `name` in `program`'s BTF: the attach target of an freplace
 * program (which must be a global function there) or of fentry/fexit on a BPF program.
 * @throws Error naming the functions there are.
 */
export function programFunctionBtfId(program: KernelProgram, name: string): number {
  const btf = programBtf(program);
  const found = btf.findByName(name, 'func');
  if (!found) {
    const funcs = btf.types.filter((t) => t.kind === 'func').map((t) => t.name);
    throw new Error(`program ${program.name} has no function ${name} in its BTF (functions: ${funcs.join(', ') || 'none'})`);
  }
  return found.id;
}
