/**
 * Records passed by pointer with BPF_PROG_LOAD: `struct bpf_func_info`, `bpf_line_info`
 * and `bpf_core_relo`, as data, with an encoder for arrays of them.
 */
import { defineStruct, encodeStruct, stableBuffer, type FieldValue, type StructLayout } from './layout.js';

export const FuncInfoRecord = defineStruct('bpf_func_info', '', [
  ['insn_off', 0, 'u32'],
  ['type_id', 4, 'u32'],
]);

export const LineInfoRecord = defineStruct('bpf_line_info', '', [
  ['insn_off', 0, 'u32'],
  ['file_name_off', 4, 'u32'],
  ['line_off', 8, 'u32'],
  ['line_col', 12, 'u32'],
]);

export const CoreReloRecord = defineStruct('bpf_core_relo', '', [
  ['insn_off', 0, 'u32'],
  ['type_id', 4, 'u32'],
  ['access_str_off', 8, 'u32'],
  ['kind', 12, 'u32'],
]);

export const allRecordLayouts = [FuncInfoRecord, LineInfoRecord, CoreReloRecord];

/** Encode `records` back to back, each `layout.size` bytes (the rec_size the kernel is told). */
export function encodeRecords<N extends string>(layout: StructLayout<N>, records: ReadonlyArray<Partial<Record<N, FieldValue>>>): Uint8Array {
  const out = stableBuffer(Math.max(layout.size * records.length, 1));
  records.forEach((record, i) => encodeStruct(layout, record, out.subarray(i * layout.size, (i + 1) * layout.size)));
  return out;
}
