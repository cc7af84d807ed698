/** The eBPF assembler: bpfkit, llvm and ubpf (bpf_conformance) syntaxes. */
export { assemble, type AsmSyntax, type AssembleOptions } from './assemble.js';
