import { helperId } from '../../uapi/helpers.js';
import { parseImm32Llvm } from './numbers.js';
import { llvmRegister } from './registers.js';
import type { Statement } from './statement.js';
import { problem } from './syntax-error.js';
import { withTarget } from './targets.js';

/**
 * Calls in the llvm and bpfkit syntaxes.
 *
 * llvm: `call N` (a helper; llvm prints local and kfunc calls the same way, which is
 * why bpfkit has its own forms) and `callx rN`.
 * bpfkit adds: `call bpf_map_lookup_elem#1` / `call helper#999` (helper by name and id),
 * `call bpf_map_lookup_elem` (by name), `call local +5` / `call local label`,
 * `call kfunc 12345`, `call kfunc 12345 btf_fd 2` (also written `[btf_fd 2]`).
 */
export function parseCall(mnemonic: 'call' | 'callx', rest: string, syntax: 'llvm' | 'bpfkit'): Statement {
  if (mnemonic === 'callx') {
    const r = llvmRegister(rest);
    if (r.width === 32) problem(`callx takes a 64-bit register: write r${r.reg}`);
    return { op: { kind: 'callx', reg: r.reg } };
  }
  if (/^[+-]?(0x[0-9a-fA-F]+|\d+)$/.test(rest)) {
    return { op: { kind: 'call', target: 'helper', imm: parseImm32Llvm(rest, 'helper id'), btfFdIndex: 0 } };
  }
  if (syntax === 'llvm') problem(`"call ${rest}" is not llvm syntax, which writes calls as "call N" (try --syntax bpfkit)`);

  let m: RegExpExecArray | null;
  if ((m = /^local\s+(\S+)$/.exec(rest))) {
    return withTarget(m[1]!, (imm) => ({ kind: 'call', target: 'local', imm, btfFdIndex: 0 }));
  }
  if ((m = /^kfunc\s+(\S+)(?:\s+(?:btf_fd\s+(\S+)|\[\s*btf_fd\s+([^\]\s]+)\s*\]))?$/.exec(rest))) {
    const fd = m[2] ?? m[3];
    const btfFdIndex = fd === undefined ? 0 : parseImm32Llvm(fd, 'BTF fd index');
    if (btfFdIndex < -0x8000 || btfFdIndex > 0x7fff) problem(`BTF fd index ${fd} does not fit the 16-bit offset field`);
    return { op: { kind: 'call', target: 'kfunc', imm: parseImm32Llvm(m[1]!, 'kfunc BTF id'), btfFdIndex } };
  }
  if ((m = /^([A-Za-z_]\w*)#(\S+)$/.exec(rest))) {
    const name = m[1]!;
    const id = parseImm32Llvm(m[2]!, 'helper id');
    if (name !== 'helper') {
      const known = helperId(name);
      if (known === undefined) problem(`unknown helper "${name}" (write helper#${id} for a helper without a name)`);
      if (known !== id) problem(`${name} is helper #${known}, not #${id}`);
    }
    return { op: { kind: 'call', target: 'helper', imm: id, btfFdIndex: 0 } };
  }
  if ((m = /^([A-Za-z_]\w*)$/.exec(rest))) {
    const id = helperId(m[1]!);
    if (id === undefined) problem(`unknown helper "${m[1]}" (known helpers are bpf_* names such as bpf_map_lookup_elem)`);
    return { op: { kind: 'call', target: 'helper', imm: id, btfFdIndex: 0 } };
  }
  problem(`cannot read call target "${rest}" (call N, call NAME#N, call local +N, call kfunc ID, callx rN)`);
}

