/** The eBPF instruction set: model, encoding, typed operations, builder. */
export * from './opcodes.js';
export * from './instruction.js';
export * from './errors.js';
export * from './operation.js';
export * from './codec.js';
export * from './compose.js';
export * from './builder.js';
export * from './disasm/index.js';
export * from './asm/index.js';
