/** The disassembler: instructions to text in llvm-objdump's syntax or bpfkit's own. */
export {
  disassemble,
  disassembleBytes,
  disassembleInstructions,
  formatInstruction,
  type DisassembleOptions,
  type DisassembledInstruction,
  type DisasmSyntax,
} from './disassemble.js';
export { JumpTargetNamer } from './jump-targets.js';
