/** The running kernel's BTF (/sys/kernel/btf/vmlinux), parsed once and only when needed. */
import { readFileSync } from 'node:fs';
import { Btf } from '../btf/btf.js';
import { CoreTarget } from '../btf/core/apply.js';

export const VMLINUX_BTF_PATH = '/sys/kernel/btf/vmlinux';

let parsed: Btf | undefined;
let coreTarget: CoreTarget | undefined;

/** vmlinux BTF. @throws Error when the kernel has no BTF (CONFIG_DEBUG_INFO_BTF off). */
export function vmlinuxBtf(): Btf {
  if (!parsed) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(VMLINUX_BTF_PATH);
    } catch (cause) {
      throw new Error(`this kernel exposes no BTF at ${VMLINUX_BTF_PATH} (CONFIG_DEBUG_INFO_BTF): CO-RE, kfuncs and BTF attach targets need it`, { cause });
    }
    parsed = Btf.parse(bytes);
  }
  return parsed;
}

/** vmlinux as a CO-RE target, its candidate index shared by every load. */
export function vmlinuxCoreTarget(): CoreTarget {
  coreTarget ??= new CoreTarget(vmlinuxBtf());
  return coreTarget;
}
