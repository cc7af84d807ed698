/**
 * Text of a program's xlated instructions (`bpfkit prog dump xlated`). The kernel's
 * rewrites need words the object-file disassembler has no reason to know, so the
 * affected lines are printed as bpftool prints them:
 * - helper calls hold the helper's address relative to __bpf_call_base: named from
 *   /proc/kallsyms (`call __htab_map_lookup_elem#330864`);
 * - map loads hold map ids, not fds (`map[id:12]`, `map[id:12][0]+4`);
 * - `mov` with off -1 is the kernel-internal per-CPU address instruction.
 */
import { kernelTextSymbols } from '../kernel/kallsyms.js';
import { disassemble, OP_CALL, OP_LDDW, type DisasmSyntax, type Instruction } from '../isa/index.js';
import { helperName as uapiHelperName } from '../uapi/helpers.js';

const PSEUDO_MAP_FD = 1;
const PSEUDO_MAP_VALUE = 2;
const MOV64_X = 0xbf;

/** Kernel text symbols by address; undefined when /proc/kallsyms hides addresses. */
function kernelSymbols(): { base: bigint; names: Map<bigint, string> } | undefined {
  const symbols = kernelTextSymbols();
  if (!symbols) return undefined;
  const names = new Map<bigint, string>();
  let base: bigint | undefined;
  for (const { address, name } of symbols) {
    if (name === '__bpf_call_base') base = address;
    if (!names.has(address)) names.set(address, name);
  }
  return base === undefined ? undefined : { base, names };
}

/** One line per instruction, with its slot number (lddw takes two slots). */
export function xlatedListing(insns: readonly Instruction[], syntax: DisasmSyntax): Array<{ slot: number; text: string }> {
  const texts = disassemble(insns, { syntax, invalid: 'mark' });
  let symbols: ReturnType<typeof kernelSymbols> | null = null;
  const helperName = (imm: number) => {
    if (symbols === null) symbols = kernelSymbols();
    return symbols?.names.get(symbols.base + BigInt(imm));
  };
  const out: Array<{ slot: number; text: string }> = [];
  let slot = 0;
  insns.forEach((insn, i) => {
    let text = texts[i]!;
    if (insn.code === OP_CALL && insn.src === 0) {
      // bpf_tail_call comes back as its helper id (the kernel's dump restores it).
      text = `call ${helperName(insn.imm) ?? uapiHelperName(insn.imm) ?? 'helper'}#${insn.imm}`;
    } else if (insn.code === OP_LDDW && insn.src === PSEUDO_MAP_FD) {
      text = `r${insn.dst} = map[id:${insn.imm}] ll`;
    } else if (insn.code === OP_LDDW && insn.src === PSEUDO_MAP_VALUE) {
      text = `r${insn.dst} = map[id:${insn.imm}][0]+${insn.imm2 ?? 0} ll`;
    } else if (insn.code === MOV64_X && insn.off === -1) {
      text = `r${insn.dst} = &(void __percpu *)(r${insn.src})`;
    }
    out.push({ slot, text });
    slot += insn.code === OP_LDDW ? 2 : 1;
  });
  return out;
}
