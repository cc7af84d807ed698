/** The ELF layer: a pure ELF64 reader and the BPF object loader (ObjectSpec). */
export * from './errors.js';
export * from './elf-constants.js';
export * from './elf-file.js';
export * from './uprobe.js';
export * from './usdt.js';
export type * from './object-spec.js';
export { CoreReloKind } from './object-spec.js';
