/** CO-RE: resolve BPF CO-RE relocations against a target BTF and patch instructions, as libbpf does. */
export * from './kinds.js';
export * from './names.js';
export * from './compat.js';
export * from './spec.js';
export * from './calc.js';
export * from './candidates.js';
export * from './patch.js';
export * from './apply.js';
