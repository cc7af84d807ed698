/** The ELF layer: a pure ELF64 reader and the BPF object loader (ObjectSpec). */
export * from './errors.js';
export * from './elf-constants.js';
export * from './elf-file.js';
export * from './uprobe.js';
export * from './usdt.js';
export * from './section-names.js';
export { SECTION_DEFS, type SectionDef } from './section-table.js';
export { loadObjectSpec, type LoadObjectOptions } from './load-object.js';
export { summarizeObject, type ObjectSummary, type MapSummary } from './object-summary.js';
export { MAX_GLOBAL_DATA_SIZE } from './global-data.js';
export type * from './object-spec.js';
export { CoreReloKind } from './object-spec.js';
