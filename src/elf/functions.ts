import { decodeInstructions } from '../isa/codec.js';
import { InstructionError } from '../isa/errors.js';
import type { Instruction } from '../isa/instruction.js';
import { insnSlots } from '../isa/instruction.js';
import { SymbolType } from './elf-constants.js';
import type { ElfSection, ElfSymbol } from './elf-file.js';
import { symbolsIn } from './elf-file.js';
import { ElfError } from './errors.js';
import { sectionPart, type ObjectContext } from './object-context.js';

/** The decoded instructions of one executable section, addressable by slot. */
export interface CodeSection {
  section: ElfSection;
  instructions: Instruction[];
  /** `indexAtSlot[slot]` is the index of the instruction starting at `slot`, or -1 inside an lddw. */
  indexAtSlot: Int32Array;
  /** The functions defined in the section, by start slot. */
  functions: FunctionSymbol[];
}

/** One function (STT_FUNC symbol) inside an executable section. */
export interface FunctionSymbol {
  name: string;
  symbol: ElfSymbol;
  code: CodeSection;
  /** First slot and one past the last slot, inside the section. */
  startSlot: number;
  endSlot: number;
  /** Index range into `code.instructions`. */
  startIndex: number;
  endIndex: number;
}

/**
 * Decode every executable section and find its functions. Every function must start and
 * end on an instruction boundary inside its section.
 */
export function collectCode(ctx: ObjectContext): Map<number, CodeSection> {
  const out = new Map<number, CodeSection>();
  for (const section of ctx.elf.sections) {
    if (ctx.roles[section.index] !== 'program') continue;
    const part = sectionPart(section);
    let instructions: Instruction[];
    try {
      instructions = decodeInstructions(section.data, { endian: ctx.endian, strict: false });
    } catch (e) {
      if (e instanceof InstructionError) {
        throw new ElfError(e.reason, part, section.offset + (e.slot ?? 0) * 8);
      }
      throw e;
    }
    // Frozen: programs share these objects (see linkProgram); copy before editing.
    for (const insn of instructions) Object.freeze(insn);
    const slots = section.size / 8;
    const indexAtSlot = new Int32Array(slots + 1).fill(-1);
    let slot = 0;
    for (let i = 0; i < instructions.length; i++) {
      indexAtSlot[slot] = i;
      slot += insnSlots(instructions[i]!);
    }
    indexAtSlot[slots] = instructions.length;
    const code: CodeSection = { section, instructions, indexAtSlot, functions: [] };
    for (const sym of symbolsIn(ctx.elf, section)) {
      if (sym.type !== SymbolType.FUNC) continue;
      const symPart = `function ${sym.name} in ${part}`;
      if (sym.value % 8 !== 0 || sym.size % 8 !== 0 || sym.size === 0) {
        throw new ElfError(`offset ${sym.value} / size ${sym.size} are not whole instructions`, symPart, section.offset);
      }
      if (sym.value + sym.size > section.size) {
        throw new ElfError(`[${sym.value}, ${sym.value + sym.size}) runs past the ${section.size}-byte section`, symPart, section.offset);
      }
      const startSlot = sym.value / 8;
      const endSlot = startSlot + sym.size / 8;
      const startIndex = indexAtSlot[startSlot]!;
      const endIndex = indexAtSlot[endSlot]!;
      if (startIndex < 0 || endIndex < 0) {
        throw new ElfError('starts or ends inside an lddw instruction', symPart, section.offset + sym.value);
      }
      code.functions.push({ name: sym.name, symbol: sym, code, startSlot, endSlot, startIndex, endIndex });
    }
    code.functions.sort((a, b) => a.startSlot - b.startSlot);
    for (let i = 1; i < code.functions.length; i++) {
      const prev = code.functions[i - 1]!;
      const cur = code.functions[i]!;
      if (cur.startSlot < prev.endSlot) {
        throw new ElfError(`functions ${prev.name} and ${cur.name} overlap`, part, section.offset + cur.startSlot * 8);
      }
    }
    out.set(section.index, code);
  }
  return out;
}

/** The function of `code` that contains `slot`, or undefined. */
export function functionAt(code: CodeSection, slot: number): FunctionSymbol | undefined {
  // Functions are sorted and disjoint: binary search.
  let lo = 0;
  let hi = code.functions.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const f = code.functions[mid]!;
    if (slot < f.startSlot) hi = mid - 1;
    else if (slot >= f.endSlot) lo = mid + 1;
    else return f;
  }
  return undefined;
}
