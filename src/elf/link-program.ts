import type { BtfExt } from '../btf/ext.js';
import type { Instruction } from '../isa/instruction.js';
import { OP_CALL, OP_LDDW, PseudoCall, PseudoLd } from '../isa/opcodes.js';
import type { RelocTable } from './code-relocations.js';
import { ElfError } from './errors.js';
import { functionAt, type CodeSection, type FunctionSymbol } from './functions.js';
import type { CoreRelocation, FuncInfo, LineInfo, Relocation } from './object-spec.js';

/** The linked code of one program: entry function first, then its subprograms. */
export interface LinkedProgram {
  instructions: Instruction[];
  subprograms: string[];
  relocations: Relocation[];
  funcInfo: FuncInfo[];
  lineInfo: LineInfo[];
  coreRelocations: CoreRelocation[];
  /** Slots in `instructions`. */
  slots: number;
}

/** Read-only inputs the linker needs, shared by every program of an object. */
export interface LinkInputs {
  code: Map<number, CodeSection>;
  relocations: Map<number, RelocTable>;
  ext?: BtfExt;
}

// Module-level copies: read once, not through the import binding on every instruction.
const CALL = OP_CALL;
const LDDW = OP_LDDW;
const LOCAL_CALL = PseudoCall.LOCAL;
const KFUNC_CALL = PseudoCall.KFUNC;
const PSEUDO_FUNC = PseudoLd.FUNC;

/** One function copied into the program, at `start` (slot). */
interface Piece {
  fn: FunctionSymbol;
  start: number;
  /** Next instruction index (into the program) to process, and its slot. */
  next: number;
  nextSlot: number;
  end: number;
  /** The relocations of the function's section, by section slot. */
  relocations: RelocTable | undefined;
}

function where(fn: FunctionSymbol): string {
  return `function ${fn.name} in section ${fn.code.section.index} (${fn.code.section.name})`;
}

/**
 * Link one program the way libbpf's bpf_object__reloc_code does: copy the entry
 * function, and each time an instruction calls (or takes the address of) a function not
 * yet in the program, append that function and process it first (depth-first), then
 * point the instruction at the copy. Call and pseudo-func offsets count slots relative
 * to the next instruction. Map, global-data and extern relocations are collected with
 * their slots in the linked program; BTF.ext records of every piece are moved to their
 * new slots.
 */
export function linkProgram(entry: FunctionSymbol, inputs: LinkInputs): LinkedProgram {
  const instructions: Instruction[] = [];
  const relocations: Relocation[] = [];
  const placed = new Map<FunctionSymbol, number>();
  const pieces: Piece[] = [];
  let slots = 0;

  const place = (fn: FunctionSymbol): Piece => {
    const piece: Piece = { fn, start: slots, next: instructions.length, nextSlot: slots, end: 0, relocations: inputs.relocations.get(fn.code.section.index) };
    placed.set(fn, slots);
    // The section's instructions are frozen and shared: every program that includes a
    // function points at the same objects, and only the instructions linking changes
    // (calls, function addresses, kfunc calls) are replaced by fresh copies below.
    const src = fn.code.instructions;
    for (let i = fn.startIndex; i < fn.endIndex; i++) {
      const insn = src[i]!;
      instructions.push(insn);
      slots += insn.code === LDDW ? 2 : 1;
    }
    piece.end = instructions.length;
    pieces.push(piece);
    return piece;
  };

  const stack: Piece[] = [place(entry)];
  while (stack.length > 0) {
    const piece = stack[stack.length - 1]!;
    if (piece.next >= piece.end) {
      stack.pop();
      continue;
    }
    const insnIndex = piece.next;
    const insn = instructions[insnIndex]!;
    const slot = piece.nextSlot;
    piece.next++;
    piece.nextSlot += insn.code === LDDW ? 2 : 1;
    const fn = piece.fn;
    const sectionSlot = fn.startSlot + (slot - piece.start);
    const sectionRelocations = piece.relocations;
    const target = sectionRelocations === undefined ? undefined : sectionRelocations[sectionSlot];

    let callee: { code: CodeSection; slot: number } | undefined;
    if (target) {
      switch (target.kind) {
        case 'subprog':
          callee = { code: inputs.code.get(target.section)!, slot: target.slot };
          break;
        case 'map':
          relocations.push({ kind: 'map', slot, map: target.map });
          break;
        case 'map_value':
          relocations.push({ kind: 'map_value', slot, map: target.map, offset: target.offset });
          break;
        case 'kconfig':
          relocations.push({ kind: 'kconfig', slot, name: target.name });
          break;
        case 'ksym':
          relocations.push({ kind: 'ksym', slot, name: target.name, isFunction: target.isFunction, weak: target.weak });
          break;
        case 'kfunc':
          // clang marks kfunc calls as bpf-to-bpf calls; say what they are (libbpf does
          // the same). imm stays for the loader to replace with the kfunc's BTF id.
          instructions[insnIndex] = Object.freeze({ ...insn, src: KFUNC_CALL });
          relocations.push({ kind: 'kfunc', slot, name: target.name, weak: target.weak });
          break;
      }
    } else if (insn.code === CALL && insn.src === LOCAL_CALL) {
      // A call clang resolved itself: relative to this instruction, inside this section.
      callee = { code: fn.code, slot: sectionSlot + insn.imm + 1 };
    }
    if (!callee) continue;

    const calleeFn = functionAt(callee.code, callee.slot);
    if (!calleeFn) {
      throw new ElfError(
        `instruction at slot ${sectionSlot} refers to slot ${callee.slot} of ${callee.code.section.name}, which is inside no function`,
        where(fn),
        fn.code.section.offset + sectionSlot * 8,
      );
    }
    if (callee.code.indexAtSlot[callee.slot]! < 0) {
      throw new ElfError(`instruction at slot ${sectionSlot} jumps into the middle of an lddw`, where(fn), fn.code.section.offset + sectionSlot * 8);
    }
    let start = placed.get(calleeFn);
    if (start === undefined) {
      const p = place(calleeFn);
      start = p.start;
      stack.push(p);
    }
    const newTarget = start + (callee.slot - calleeFn.startSlot);
    const imm = newTarget - (slot + 1);
    instructions[insnIndex] = Object.freeze(insn.code === LDDW ? { ...insn, src: PSEUDO_FUNC, imm, imm2: 0 } : { ...insn, imm });
  }

  const out: LinkedProgram = {
    instructions,
    subprograms: pieces.slice(1).map((p) => p.fn.name),
    relocations: relocations.sort((a, b) => a.slot - b.slot),
    funcInfo: [],
    lineInfo: [],
    coreRelocations: [],
    slots,
  };
  if (inputs.ext) moveExtInfo(inputs.ext, pieces, out);
  return out;
}

/** Copy each piece's func_info, line_info and CO-RE records, rebased to the piece's slot. */
function moveExtInfo(ext: BtfExt, pieces: Piece[], out: LinkedProgram): void {
  for (const p of pieces) {
    const section = p.fn.code.section.name;
    const shift = p.start - p.fn.startSlot;
    const { startSlot, endSlot } = p.fn;
    const funcs = ext.funcInfo.get(section);
    if (funcs) {
      for (let i = firstAtOrAfter(funcs, startSlot); i < funcs.length && funcs[i]!.slot < endSlot; i++) {
        const r = funcs[i]!;
        out.funcInfo.push({ slot: r.slot + shift, typeId: r.typeId });
      }
    }
    const lines = ext.lineInfo.get(section);
    if (lines) {
      const into = out.lineInfo;
      for (let i = firstAtOrAfter(lines, startSlot); i < lines.length; i++) {
        const r = lines[i]!;
        if (r.slot >= endSlot) break;
        // One literal with every field, so that all LineInfo objects share one shape.
        into.push({
          slot: r.slot + shift,
          fileName: r.fileName,
          line: r.line,
          lineNumber: r.lineNumber,
          column: r.column,
          fileNameOff: r.fileNameOff,
          lineOff: r.lineOff,
          lineCol: r.lineCol,
        });
      }
    }
    const core = ext.coreRelos.get(section);
    if (core) {
      for (let i = firstAtOrAfter(core, startSlot); i < core.length && core[i]!.slot < endSlot; i++) {
        const r = core[i]!;
        out.coreRelocations.push({ slot: r.slot + shift, typeId: r.typeId, accessString: r.accessString, kind: r.kind });
      }
    }
  }
}

/** Index of the first record with slot >= `slot` in a list sorted by slot (see sortExtRecords). */
function firstAtOrAfter(list: ReadonlyArray<{ slot: number }>, slot: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.slot < slot) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Sort every BTF.ext record list by slot (clang emits them sorted; this makes sure). */
export function sortExtRecords(ext: BtfExt): void {
  for (const m of [ext.funcInfo, ext.lineInfo, ext.coreRelos] as Array<Map<string, Array<{ slot: number }>>>) {
    for (const list of m.values()) list.sort((a, b) => a.slot - b.slot);
  }
}
