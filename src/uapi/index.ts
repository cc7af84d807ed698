/** Kernel UAPI constants as data (pure: used by every layer, no syscalls here). */
export * from './prog-types.js';
export * from './map-types.js';
export * from './attach-types.js';
export * from './helpers.js';
