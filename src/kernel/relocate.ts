/**
 * Load-time patching of a program's instructions: map references become map fds or map
 * value addresses (pseudo lddw sources), kconfig externs point into the .kconfig map,
 * ksyms and kfuncs get their vmlinux BTF ids, and CO-RE relocations are resolved against
 * vmlinux BTF by the btf layer.
 */
import type { Btf } from '../btf/btf.js';
import { applyCoreRelocations } from '../btf/core/apply.js';
import type { ExternSpec, ProgramSpec } from '../elf/object-spec.js';
import { instructionsBySlot, pointLddwAtMap, PseudoCall, PseudoLd, type Instruction } from '../isa/index.js';
import { vmlinuxBtf, vmlinuxCoreTarget } from './vmlinux.js';

/** Errors found while relocating (an unknown map, a missing kernel symbol, a failed CO-RE relocation). */
export class RelocationError extends Error {
  constructor(program: string, message: string) {
    super(`program ${program}: ${message}`);
    this.name = 'RelocationError';
  }
}

export interface RelocationContext {
  /** Map fd by map name. */
  mapFd(name: string): number | undefined;
  externs: readonly ExternSpec[];
  /** The object's BTF (for CO-RE). */
  localBtf: Btf | undefined;
}

/** The program's instructions with every relocation applied. */
export function relocateProgram(program: ProgramSpec, ctx: RelocationContext): Instruction[] {
  let insns = program.instructions.map((i) => ({ ...i }));
  if (program.coreRelocations.length > 0) {
    if (!ctx.localBtf) throw new RelocationError(program.name, 'has CO-RE relocations but the object has no BTF');
    const { insns: patched, results } = applyCoreRelocations(insns, program.coreRelocations, ctx.localBtf, vmlinuxCoreTarget());
    const failed = results.filter((r) => r.status === 'failed');
    if (failed.length > 0) {
      throw new RelocationError(program.name, `CO-RE relocation failed: ${failed.map((r) => `${r.kindName} ${r.local}: ${r.error}`).join('; ')}`);
    }
    insns = patched;
  }

  const bySlot = instructionsBySlot(insns);
  const at = (s: number): Instruction => {
    const insn = bySlot.get(s);
    if (insn === undefined) throw new RelocationError(program.name, `relocation at slot ${s} is not the start of an instruction`);
    return insn;
  };
  const fdOf = (name: string): number => {
    const fd = ctx.mapFd(name);
    if (fd === undefined) throw new RelocationError(program.name, `refers to map ${name}, which the collection does not have`);
    return fd;
  };

  for (const relo of program.relocations) {
    const insn = at(relo.slot);
    switch (relo.kind) {
      case 'map':
        pointLddwAtMap(insn, fdOf(relo.map));
        break;
      case 'map_value':
        pointLddwAtMap(insn, fdOf(relo.map), relo.offset);
        break;
      case 'kconfig': {
        const extern = ctx.externs.find((e) => e.name === relo.name && e.kind === 'kconfig');
        if (!extern || extern.offset === undefined) throw new RelocationError(program.name, `unknown kconfig extern ${relo.name}`);
        pointLddwAtMap(insn, fdOf('.kconfig'), extern.offset);
        break;
      }
      case 'ksym':
      case 'kfunc': {
        const isFunction = relo.kind === 'kfunc' || relo.isFunction;
        const found = vmlinuxBtf().findByName(relo.name, isFunction ? 'func' : 'var');
        if (!found) {
          if (relo.weak && !isFunction) {
            // A missing weak variable reads as address 0 (libbpf's behaviour).
            insn.src = PseudoLd.IMM64;
            insn.imm = 0;
            insn.imm2 = 0;
            break;
          }
          throw new RelocationError(program.name, `kernel symbol ${relo.name} is not in this kernel's BTF`);
        }
        if (isFunction) {
          insn.src = PseudoCall.KFUNC;
          insn.imm = found.id;
          insn.off = 0;
        } else {
          insn.src = PseudoLd.BTF_ID;
          insn.imm = found.id;
          insn.imm2 = 0;
        }
        break;
      }
    }
  }
  return insns;
}
