/**
 * `bpfkit disasm FILE.o`: print the executable sections of an eBPF object the way
 * `llvm-objdump -d --no-print-imm-hex` does (same header, labels, slot numbers and raw
 * bytes), in the llvm syntax or bpfkit's own.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ElfMachine, SHN, SectionFlags, SymbolType, parseElf, relocationsFor, symbolsIn, type ElfFile, type ElfSection } from '../elf/index.js';
import { decodeInstructions } from '../isa/codec.js';
import { disassembleInstructions, type DisasmSyntax } from '../isa/disasm/index.js';
import { slotOffsets, type Instruction } from '../isa/instruction.js';
import { InstructionError } from '../isa/errors.js';
import { INSN_SIZE, OP_CALL, OP_LDDW, PseudoCall } from '../isa/opcodes.js';
import type { Command } from './main.js';

export interface DisassembleObjectOptions {
  /** The file name printed in the header line (`FILE:\tfile format elf64-bpf`). */
  fileName: string;
  /** Only this section (by name); default every executable section. */
  section?: string;
  /** Default `bpfkit`. */
  syntax?: DisasmSyntax;
  /** llvm syntax: as `llvm-objdump --mattr=+alu32`. */
  alu32?: boolean;
  /** Print malformed instructions as `<unknown>` / `.insn ...` lines instead of failing. */
  keepGoing?: boolean;
}

/** A malformed object or instruction, located by file, section and slot. */
export class DisassemblyError extends Error {
  override readonly name = 'DisassemblyError';
}

/**
 * The listing of an eBPF object, laid out as llvm-objdump -d lays it out.
 *
 * @throws ElfError for a malformed ELF file; DisassemblyError naming the section, slot
 *   and byte offset of a malformed instruction (unless `keepGoing`) or an unknown or
 *   non-executable `section`.
 */
export function disassembleObject(bytes: Uint8Array, options: DisassembleObjectOptions): string {
  const elf = parseElf(bytes);
  if (elf.header.machine !== ElfMachine.BPF) {
    throw new DisassemblyError(`${options.fileName}: not an eBPF object: ELF machine ${elf.header.machine}, expected EM_BPF (${ElfMachine.BPF})`);
  }
  let sections = elf.sections.filter((s) => (s.flags & SectionFlags.EXECINSTR) !== 0 && s.size > 0);
  if (options.section !== undefined) {
    const named = elf.sections.filter((s) => s.name === options.section);
    if (named.length === 0) throw new DisassemblyError(`${options.fileName}: no section named "${options.section}"`);
    sections = named.filter((s) => (s.flags & SectionFlags.EXECINSTR) !== 0);
    if (sections.length === 0) throw new DisassemblyError(`${options.fileName}: section "${options.section}" does not hold code (not SHF_EXECINSTR)`);
  }
  const out: string[] = ['', `${options.fileName}:\tfile format elf64-bpf`, ''];
  sections.forEach((section, i) => {
    if (i > 0) out.push(''); // llvm-objdump separates sections by a blank line, and ends without one
    out.push(...sectionListing(elf, section, options));
  });
  return out.join('\n') + '\n';
}

function sectionListing(elf: ElfFile, section: ElfSection, options: DisassembleObjectOptions): string[] {
  const { labels, targets } = sectionSymbols(elf, section);
  let listing;
  try {
    const insns = decodeInstructions(section.data, { endian: elf.header.endian, strict: false });
    listing = disassembleInstructions(insns, {
      syntax: options.syntax ?? 'bpfkit',
      alu32: options.alu32,
      symbols: targets,
      sectionName: section.name,
      references: relocationReferences(elf, section, insns),
      invalid: options.keepGoing ? 'mark' : 'throw',
    });
  } catch (e) {
    if (e instanceof InstructionError) throw new DisassemblyError(`${options.fileName}: section ${section.name}: ${e.message}`);
    throw e;
  }
  const out = [`Disassembly of section ${section.name}:`];
  if (!labels.has(0)) labels.set(0, section.name);
  for (const line of listing) {
    const label = labels.get(line.slot);
    if (label !== undefined) out.push('', `${(BigInt(line.slot) * 8n).toString(16).padStart(16, '0')} <${label}>:`);
    const width = line.insn.code === OP_LDDW ? 2 * INSN_SIZE : INSN_SIZE;
    const raw = Array.from(section.data.subarray(line.slot * INSN_SIZE, line.slot * INSN_SIZE + width), (b) => b.toString(16).padStart(2, '0'));
    out.push(`${String(line.slot).padStart(8)}:\t${raw.join(' ')}\t${line.text}`);
  }
  return out;
}

/**
 * The section's symbols by slot, chosen as llvm-objdump chooses among symbols at one
 * address (measured): the greatest name wins. Labels come from functions and untyped
 * symbols (clang's `LBB0_3`), jump annotations also from data symbols.
 */
function sectionSymbols(elf: ElfFile, section: ElfSection): { labels: Map<number, string>; targets: Map<number, string> } {
  const labels = new Map<number, string>();
  const targets = new Map<number, string>();
  for (const sym of symbolsIn(elf, section)) {
    if (sym.name === '' || sym.value % INSN_SIZE !== 0 || sym.value >= section.size) continue;
    const slot = sym.value / INSN_SIZE;
    const keep = (map: Map<number, string>) => {
      const current = map.get(slot);
      if (current === undefined || sym.name > current) map.set(slot, sym.name);
    };
    if (sym.type === SymbolType.FUNC || sym.type === SymbolType.NOTYPE) {
      keep(labels);
      keep(targets);
    } else if (sym.type === SymbolType.OBJECT) {
      keep(targets);
    }
  }
  return { labels, targets };
}

/**
 * What relocated instructions refer to, by slot, for the bpfkit syntax's ` <name>`:
 * - calls: clang leaves a call to a global function, into another section or to a kfunc
 *   as `call -1` (or `call N` against a section symbol) plus an R_BPF_64_32 relocation;
 *   the callee is, as libbpf computes it, slot `symbol value / 8 + imm + 1` of the
 *   symbol's section, or the extern symbol itself;
 * - lddw: the map, variable, function or extern the relocation names (against a
 *   section symbol, as clang uses for static data and callbacks, the symbol at the
 *   immediate's offset into that section).
 */
function relocationReferences(elf: ElfFile, section: ElfSection, insns: Instruction[]): Map<number, string> {
  const out = new Map<number, string>();
  const relocations = relocationsFor(elf, section);
  if (!relocations) return out;
  const labelsOf = new Map<number, Map<number, string>>();
  const labelsIn = (target: ElfSection) => {
    let labels = labelsOf.get(target.index);
    if (!labels) labelsOf.set(target.index, (labels = sectionSymbols(elf, target).labels));
    return labels;
  };
  const slots = slotOffsets(insns);
  const bySlot = new Map<number, Instruction>();
  insns.forEach((insn, i) => bySlot.set(slots[i]!, insn));
  for (const reloc of relocations.entries) {
    const slot = reloc.offset / INSN_SIZE;
    const insn = bySlot.get(slot);
    const sym = elf.symbols[reloc.symbolIndex];
    if (!insn || !sym) continue;
    const target = sym.sectionIndex === SHN.UNDEF ? undefined : elf.sections[sym.sectionIndex];
    const isSectionSymbol = sym.type === SymbolType.SECTION || sym.name === '';
    if (insn.code === OP_LDDW) {
      if (!isSectionSymbol) {
        if (sym.name !== '') out.set(slot, sym.name);
      } else if (target) {
        // Against a section symbol the immediate is the byte offset into that section:
        // name the function or variable that starts there.
        const offset = sym.value + (insn.imm >>> 0);
        const there = symbolsIn(elf, target).find((t) => t.value === offset && t.name !== '' && t.type !== SymbolType.SECTION);
        out.set(slot, there?.name ?? (offset === 0 ? target.name : `${target.name}+0x${offset.toString(16)}`));
      }
    } else if (insn.code === OP_CALL && insn.src === PseudoCall.LOCAL) {
      if (!target) {
        if (sym.name !== '') out.set(slot, sym.name); // an extern: a kfunc
        continue;
      }
      const callee = sym.value / INSN_SIZE + insn.imm + 1;
      const distance = callee * INSN_SIZE;
      out.set(
        slot,
        labelsIn(target).get(callee) ??
          (distance === 0 ? target.name : `${target.name}${distance < 0 ? '-' : '+'}0x${Math.abs(distance).toString(16)}`),
      );
    }
  }
  return out;
}

const HELP = `usage: bpfkit disasm FILE.o [--section NAME] [--syntax llvm|bpfkit] [--alu32] [--keep-going]

Disassemble the executable sections of an eBPF object file, laid out as
llvm-objdump -d prints them (section headers, function and label symbols, slot
numbers, raw bytes).

options:
  --section NAME    only this section
  --syntax SYNTAX   bpfkit (default): unambiguous, reads back with bpfkit asm
                    (call bpf_map_lookup_elem#1, call local +5, r1 = map_fd(3) ll)
                    llvm: exactly llvm-objdump-19 -d --no-print-imm-hex's text
  --alu32           llvm syntax as llvm-objdump --mattr=+alu32 prints it
                    (w registers for 32-bit loads and stores, text for every
                    32-bit atomic)
  --keep-going      print malformed instructions (<unknown> in llvm syntax,
                    ".insn code=... ; reason" in bpfkit syntax) instead of
                    stopping at the first one
  -h, --help        this text
`;

export const command: Command = {
  summary: 'disassemble an eBPF object file',
  help: HELP,
  async run(args: string[]): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        options: {
          section: { type: 'string' },
          syntax: { type: 'string' },
          alu32: { type: 'boolean' },
          'keep-going': { type: 'boolean' },
        },
      });
    } catch (e) {
      process.stderr.write(`bpfkit disasm: ${(e as Error).message}\n\n${HELP}`);
      return 2;
    }
    const { values, positionals } = parsed;
    const syntax = values.syntax ?? 'bpfkit';
    if (syntax !== 'llvm' && syntax !== 'bpfkit') {
      process.stderr.write(`bpfkit disasm: --syntax must be llvm or bpfkit, not "${syntax}"\n`);
      return 2;
    }
    if (positionals.length !== 1) {
      process.stderr.write(`bpfkit disasm: expected one object file, got ${positionals.length}\n\n${HELP}`);
      return 2;
    }
    const file = positionals[0]!;
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      process.stderr.write(`bpfkit disasm: cannot read ${file}: ${(e as Error).message}\n`);
      return 1;
    }
    try {
      process.stdout.write(
        disassembleObject(bytes, { fileName: file, section: values.section, syntax, alu32: values.alu32, keepGoing: values['keep-going'] }),
      );
      return 0;
    } catch (e) {
      if (e instanceof Error && (e.name === 'ElfError' || e.name === 'DisassemblyError')) {
        process.stderr.write(`bpfkit disasm: ${e.name === 'ElfError' ? `${file}: ` : ''}${e.message}\n`);
        return 1;
      }
      throw e;
    }
  },
};
