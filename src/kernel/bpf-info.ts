/**
 * The structures BPF_OBJ_GET_INFO_BY_FD fills (`struct bpf_map_info`, `bpf_prog_info`,
 * `bpf_link_info`, `bpf_btf_info`), as data. Checked against the C header like bpf-attr.ts.
 */
import { defineStruct } from './layout.js';

export const MapInfoLayout = defineStruct('bpf_map_info', '', [
  ['type', 0, 'u32'],
  ['id', 4, 'u32'],
  ['key_size', 8, 'u32'],
  ['value_size', 12, 'u32'],
  ['max_entries', 16, 'u32'],
  ['map_flags', 20, 'u32'],
  ['name', 24, 'char[16]'],
  ['ifindex', 40, 'u32'],
  ['btf_vmlinux_value_type_id', 44, 'u32'],
  ['netns_dev', 48, 'u64'],
  ['netns_ino', 56, 'u64'],
  ['btf_id', 64, 'u32'],
  ['btf_key_type_id', 68, 'u32'],
  ['btf_value_type_id', 72, 'u32'],
  ['btf_vmlinux_id', 76, 'u32'],
  ['map_extra', 80, 'u64'],
]);

export const ProgInfoLayout = defineStruct('bpf_prog_info', '', [
  ['type', 0, 'u32'],
  ['id', 4, 'u32'],
  ['tag', 8, 'char[8]'],
  ['jited_prog_len', 16, 'u32'],
  ['xlated_prog_len', 20, 'u32'],
  ['jited_prog_insns', 24, 'ptr'],
  ['xlated_prog_insns', 32, 'ptr'],
  ['load_time', 40, 'u64'],
  ['created_by_uid', 48, 'u32'],
  ['nr_map_ids', 52, 'u32'],
  ['map_ids', 56, 'ptr'],
  ['name', 64, 'char[16]'],
  ['ifindex', 80, 'u32'],
  /** Bit 0 is gpl_compatible (a bitfield in C, so not cross-checked). */
  ['flags_word', 84, 'u32', '-'],
  ['netns_dev', 88, 'u64'],
  ['netns_ino', 96, 'u64'],
  ['nr_jited_ksyms', 104, 'u32'],
  ['nr_jited_func_lens', 108, 'u32'],
  ['jited_ksyms', 112, 'ptr'],
  ['jited_func_lens', 120, 'ptr'],
  ['btf_id', 128, 'u32'],
  ['func_info_rec_size', 132, 'u32'],
  ['func_info', 136, 'ptr'],
  ['nr_func_info', 144, 'u32'],
  ['nr_line_info', 148, 'u32'],
  ['line_info', 152, 'ptr'],
  ['jited_line_info', 160, 'ptr'],
  ['nr_jited_line_info', 168, 'u32'],
  ['line_info_rec_size', 172, 'u32'],
  ['jited_line_info_rec_size', 176, 'u32'],
  ['nr_prog_tags', 180, 'u32'],
  ['prog_tags', 184, 'ptr'],
  ['run_time_ns', 192, 'u64'],
  ['run_cnt', 200, 'u64'],
  ['recursion_misses', 208, 'u64'],
  ['verified_insns', 216, 'u32'],
  ['attach_btf_obj_id', 220, 'u32'],
  ['attach_btf_id', 224, 'u32'],
]);

/** The common head of `struct bpf_link_info`; the rest is a union per link type. */
export const LinkInfoLayout = defineStruct('bpf_link_info', '', [
  ['type', 0, 'u32'],
  ['id', 4, 'u32'],
  ['prog_id', 8, 'u32'],
  /** Start of the per-type union (cgroup.cgroup_id, netns.netns_ino, xdp.ifindex, ...). */
  ['union0', 16, 'u64', '-'],
  ['union1', 24, 'u64', '-'],
  ['union2', 32, 'u64', '-'],
  ['union3', 40, 'u64', '-'],
  ['union4', 48, 'u64', '-'],
  ['union5', 56, 'u64', '-'],
]);

export const BtfInfoLayout = defineStruct('bpf_btf_info', '', [
  ['btf', 0, 'ptr'],
  ['btf_size', 8, 'u32'],
  ['id', 12, 'u32'],
  ['name', 16, 'ptr'],
  ['name_len', 24, 'u32'],
  ['kernel_btf', 28, 'u32'],
]);

export const allInfoLayouts = [MapInfoLayout, ProgInfoLayout, LinkInfoLayout, BtfInfoLayout];
