/**
 * What the reference tools say about an object's functions: boundaries from
 * llvm-readelf-19, instructions and relocations from llvm-objdump-19, and the call graph
 * derived from them, for comparing with loadObjectSpec's linked programs.
 */
import { OP_CALL, PseudoCall } from '../../src/isa/opcodes.js';
import type { ProgramSpec } from '../../src/elf/object-spec.js';
import { objdump, type DumpedInsn } from './objdump.js';
import { refSections, refSymbols, type RefSymbol } from './readelf.js';

export interface Fn {
  name: string;
  section: string;
  start: number;
  end: number;
  insns: DumpedInsn[];
}

/** Functions per llvm-readelf's symbol table, with llvm-objdump's instructions. */
export function functionsOf(path: string): Fn[] {
  const sections = refSections(path);
  const dump = objdump(path);
  return refSymbols(path)
    .filter((s) => s.type === 2)
    .map((s: RefSymbol) => {
      const section = sections[s.section]!.name;
      const start = s.value / 8;
      const end = start + s.size / 8;
      return { name: s.name, section, start, end, insns: (dump.get(section) ?? []).filter((i) => i.slot >= start && i.slot < end) };
    });
}

/** The callees of a function as llvm-objdump shows them (relocation symbol, or pc-relative in its section). */
export function calleesOf(fn: Fn, fns: Fn[], little: boolean): string[] {
  const out: string[] = [];
  for (const i of fn.insns) {
    if (i.bytes.length !== 8) continue;
    const code = i.bytes[0]!;
    const src = little ? i.bytes[1]! >> 4 : i.bytes[1]! & 0xf;
    const imm = new DataView(Uint8Array.from(i.bytes).buffer).getInt32(4, little);
    let section: string | undefined;
    let slot = 0;
    if (code === OP_CALL && src === PseudoCall.LOCAL) {
      if (i.reloc) {
        const named = fns.find((f) => f.name === i.reloc!.symbol);
        if (named) {
          out.push(named.name);
          continue;
        }
        section = i.reloc.symbol; // a section symbol: slot = imm + 1 from its start
        slot = imm + 1;
      } else {
        section = fn.section;
        slot = i.slot + imm + 1;
      }
      const target = fns.find((f) => f.section === section && f.start <= slot && slot < f.end);
      if (target) out.push(target.name);
    }
  }
  return out;
}

/** Functions whose address an lddw takes (callbacks), as relocated in llvm-objdump's listing. */
export function addressTakenBy(fn: Fn, fns: Fn[], little: boolean): string[] {
  const out: string[] = [];
  for (const i of fn.insns) {
    if (i.bytes[0] !== 0x18 || !i.reloc) continue;
    const named = fns.find((f) => f.name === i.reloc!.symbol);
    if (named) {
      out.push(named.name);
      continue;
    }
    const imm = new DataView(Uint8Array.from(i.bytes).buffer).getInt32(4, little);
    const slot = imm / 8;
    const target = fns.find((f) => f.section === i.reloc!.symbol && f.start <= slot && slot < f.end);
    if (target) out.push(target.name);
  }
  return out;
}

/** The entry function of a program (libbpf drops the '?' of optional sections from the name). */
export function entryOf(fns: Fn[], p: ProgramSpec): Fn {
  return fns.find((f) => f.name === p.name && (f.section === p.sectionName || f.section === `?${p.sectionName}`))!;
}

export function closure(entry: Fn, fns: Fn[], little: boolean): Set<string> {
  const seen = new Set<string>();
  const work = [entry];
  while (work.length > 0) {
    const f = work.pop()!;
    for (const c of [...calleesOf(f, fns, little), ...addressTakenBy(f, fns, little)]) {
      if (c === entry.name || seen.has(c)) continue;
      seen.add(c);
      work.push(fns.find((x) => x.name === c)!);
    }
  }
  return seen;
}

/** libbpf names .data/.rodata/.bss/.kconfig "<object>.data"; we keep the section name. */
export function libbpfMapName(name: string): string {
  const dot = name.indexOf('.');
  return dot > 0 && /^(data|rodata|bss|kconfig)$/.test(name.slice(dot + 1)) ? name.slice(dot) : name;
}

export function hex(bytes: Uint8Array | undefined): string | undefined {
  return bytes && Buffer.from(bytes).toString('hex');
}

