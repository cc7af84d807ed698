/** Backend-neutral interfaces: Collection, BpfMap, BpfProgram, BpfLink, RecordReader. */
export * from './types.js';
export { TypedMap, typedMap, typedRecords, objectCodec, bytesCodec, isPerCpuMap, type PerCpuElement } from './typed-map.js';
