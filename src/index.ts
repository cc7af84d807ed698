/**
 * bpfkit: eBPF for TypeScript.
 *
 * The pure layers (instruction set, object files, BTF, runtime, verifier) run anywhere;
 * the kernel backend needs Linux.
 */
export * as isa from './isa/index.js';
export * as uapi from './uapi/index.js';
export * as btf from './btf/index.js';
export * as elf from './elf/index.js';
export * from './api/index.js';
export type * from './elf/object-spec.js';
export { loadCollection, loadObject, type LoadCollectionOptions, type KernelLoadOptions, type VmLoadOptions } from './load.js';
