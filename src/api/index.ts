/** Backend-neutral interfaces: Collection, BpfMap, BpfProgram, BpfLink, RecordReader. */
export * from './types.js';
