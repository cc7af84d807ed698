import { OP_CALL, OP_LDDW, PseudoCall } from '../isa/opcodes.js';
import { BpfReloc, SymbolType } from './elf-constants.js';
import { ElfError } from './errors.js';
import type { Externs } from './externs.js';
import type { CodeSection } from './functions.js';
import { isExtern, sectionPart, type ObjectContext } from './object-context.js';

/** What one relocated instruction refers to, before programs are linked. */
export type RelocTarget =
  /** A bpf-to-bpf call or an lddw of a function's address: the target slot in an executable section. */
  | { kind: 'subprog'; section: number; slot: number; call: boolean }
  | { kind: 'map'; map: string }
  | { kind: 'map_value'; map: string; offset: number }
  | { kind: 'kconfig'; name: string }
  | { kind: 'ksym'; name: string; isFunction: boolean; weak: boolean }
  | { kind: 'kfunc'; name: string; weak: boolean };

/** Relocation targets of one section, indexed by slot (undefined: not relocated). */
export type RelocTable = Array<RelocTarget | undefined>;

/** Finds the map a symbol in a map section names: (section index, byte offset) -> map name. */
export type MapLocator = (sectionIndex: number, offset: number) => string | undefined;

/**
 * Classify the relocations of every executable section, per instruction slot, the way
 * libbpf's bpf_program__record_reloc does: externs first (kconfig, ksym, kfunc), then
 * calls and function addresses into code, then maps and global data.
 */
export function collectCodeRelocations(
  ctx: ObjectContext,
  code: Map<number, CodeSection>,
  externs: Externs,
  findMap: MapLocator,
): Map<number, RelocTable> {
  const out = new Map<number, RelocTable>();
  for (const [index, cs] of code) {
    // A dense table: the linker looks up every instruction, and array indexing beats a Map.
    const targets: RelocTable = new Array<RelocTarget | undefined>(cs.section.size / 8).fill(undefined);
    out.set(index, targets);
    const rel = ctx.relocations.get(index);
    if (!rel) continue;
    const part = `relocations of ${sectionPart(cs.section)}`;
    const entrySize = rel.kind === 'rela' ? 24 : 16;
    rel.entries.forEach((entry, i) => {
      if (entry.type === BpfReloc.NONE) return;
      const at = rel.section.offset + i * entrySize;
      const fail = (what: string): never => {
        throw new ElfError(`entry ${i}: ${what}`, part, at);
      };
      if (entry.offset % 8 !== 0 || entry.offset >= cs.section.size) fail(`offset ${entry.offset} is not an instruction of the ${cs.section.size}-byte section`);
      const slot = entry.offset / 8;
      const insnIndex = cs.indexAtSlot[slot]!;
      if (insnIndex < 0) fail(`offset ${entry.offset} is the second half of an lddw`);
      const insn = cs.instructions[insnIndex]!;
      const sym = ctx.elf.symbols[entry.symbolIndex];
      if (!sym || entry.symbolIndex === 0) fail(`symbol ${entry.symbolIndex} does not exist`);
      const s = sym!;
      const isCall = insn.code === OP_CALL;
      const isLddw = insn.code === OP_LDDW;
      if (!isCall && !isLddw) fail(`relocation against ${s.name || 'a section'} on opcode 0x${insn.code.toString(16)}, which is neither lddw nor call`);

      if (isExtern(s)) {
        const ext = externs.bySymbol.get(s.index);
        if (!ext) fail(`extern ${s.name} is unknown`);
        const e = ext!;
        if (isCall) {
          if (e.kind !== 'ksym') fail(`call to kconfig extern ${s.name}`);
          targets[slot] = { kind: 'kfunc', name: s.name, weak: e.weak };
        } else if (e.kind === 'kconfig') {
          targets[slot] = { kind: 'kconfig', name: s.name };
        } else {
          const isFunction = s.type === SymbolType.FUNC || (ctx.btf !== undefined && e.typeId !== undefined && ctx.btf.typeById(e.typeId).kind === 'func');
          targets[slot] = { kind: 'ksym', name: s.name, isFunction, weak: e.weak };
        }
        return;
      }

      const targetSection = ctx.elf.sections[s.sectionIndex];
      if (!targetSection) fail(`symbol ${s.name} lies in section ${s.sectionIndex}, which does not exist`);
      const role = ctx.roles[s.sectionIndex];
      const sectionSymbol = s.type === SymbolType.SECTION;
      if (isCall) {
        if (insn.src !== PseudoCall.LOCAL) fail(`call relocation against ${s.name} on a call that is not bpf-to-bpf (src ${insn.src})`);
        if (role !== 'program') fail(`call to ${s.name || 'section ' + s.sectionIndex}, which is not in an executable section`);
        if (s.value % 8 !== 0) fail(`call target ${s.name} is not instruction-aligned`);
        // libbpf: sub_insn_idx = sym_off / 8 + imm + 1 (imm is -1 for function symbols).
        targets[slot] = { kind: 'subprog', section: s.sectionIndex, slot: s.value / 8 + insn.imm + 1, call: true };
        return;
      }
      if (role === 'program') {
        if (s.value % 8 !== 0 || insn.imm % 8 !== 0) fail(`function address ${s.name} + ${insn.imm} is not instruction-aligned`);
        targets[slot] = { kind: 'subprog', section: s.sectionIndex, slot: s.value / 8 + insn.imm / 8, call: false };
        return;
      }
      if (role === 'btf-maps' || role === 'legacy-maps') {
        const offset = s.value + (sectionSymbol ? insn.imm : 0);
        const map = findMap(s.sectionIndex, offset);
        if (!map) fail(`no map is defined at offset ${offset} of ${targetSection!.name}`);
        targets[slot] = { kind: 'map', map: map! };
        return;
      }
      if (role === 'data' || role === 'rodata' || role === 'bss') {
        // libbpf: value offset = imm + st_value (section symbols carry the offset in imm).
        const offset = s.value + insn.imm;
        if (offset < 0 || offset > targetSection!.size) fail(`offset ${offset} is outside ${targetSection!.name} (${targetSection!.size} bytes)`);
        targets[slot] = { kind: 'map_value', map: targetSection!.name, offset };
        return;
      }
      fail(`lddw of ${s.name || 'section ' + targetSection!.name}, which is neither a map, global data nor code`);
    });
  }
  return out;
}
