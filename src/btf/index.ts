/** BTF: parse, encode, fix up for the kernel, print as C or TypeScript, and CO-RE relocation. */
export * from './errors.js';
export * from './kinds.js';
export * from './types.js';
export * from './bytes.js';
export * from './strings.js';
export { parseBtf, BTF_MAGIC, BTF_HEADER_SIZE, type BtfHeader } from './parse.js';
export * from './btf.js';
export * from './encode.js';
export * from './ext.js';
export * from './fixup.js';
export * from './c-dump.js';
export * from './ts-dump.js';
export * from './raw-dump.js';
export * as core from './core/index.js';
export * from './builder.js';
export * from './value/index.js';
