/**
 * `union bpf_attr` (include/uapi/linux/bpf.h, Linux 6.x), one layout per command family,
 * as data. Encoders come from layout.ts. The test test/kernel/layout.test.ts checks every
 * offset against the C header installed on the machine (fields newer than that header are
 * checked by the kernel accepting them).
 */
import { defineStruct } from './layout.js';

/** `enum bpf_cmd`. */
export const BpfCmd = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_TEST_RUN: 10,
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  PROG_QUERY: 16,
  RAW_TRACEPOINT_OPEN: 17,
  BTF_LOAD: 18,
  BTF_GET_FD_BY_ID: 19,
  TASK_FD_QUERY: 20,
  MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22,
  BTF_GET_NEXT_ID: 23,
  MAP_LOOKUP_BATCH: 24,
  MAP_LOOKUP_AND_DELETE_BATCH: 25,
  MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27,
  LINK_CREATE: 28,
  LINK_UPDATE: 29,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
  ENABLE_STATS: 32,
  ITER_CREATE: 33,
  LINK_DETACH: 34,
  PROG_BIND_MAP: 35,
  TOKEN_CREATE: 36,
} as const;
export type BpfCmdName = keyof typeof BpfCmd;

/** Name of a command number, for messages. */
export function bpfCmdName(cmd: number): string {
  return (Object.keys(BpfCmd) as BpfCmdName[]).find((k) => BpfCmd[k] === cmd) ?? `cmd ${cmd}`;
}

/** BPF_OBJ_NAME_LEN */
export const OBJ_NAME_LEN = 16;

/** BPF_MAP_CREATE */
export const MapCreateAttr = defineStruct('bpf_attr (MAP_CREATE)', '', [
  ['map_type', 0, 'u32'],
  ['key_size', 4, 'u32'],
  ['value_size', 8, 'u32'],
  ['max_entries', 12, 'u32'],
  ['map_flags', 16, 'u32'],
  ['inner_map_fd', 20, 'u32'],
  ['numa_node', 24, 'u32'],
  ['map_name', 28, 'char[16]'],
  ['map_ifindex', 44, 'u32'],
  ['btf_fd', 48, 'u32'],
  ['btf_key_type_id', 52, 'u32'],
  ['btf_value_type_id', 56, 'u32'],
  ['btf_vmlinux_value_type_id', 60, 'u32'],
  ['map_extra', 64, 'u64'],
  ['value_type_btf_obj_fd', 72, 's32'],
  ['map_token_fd', 76, 's32'],
]);

/** BPF_MAP_{LOOKUP,UPDATE,DELETE}_ELEM, MAP_GET_NEXT_KEY, MAP_LOOKUP_AND_DELETE_ELEM, MAP_FREEZE. `value` doubles as `next_key`. */
export const MapElemAttr = defineStruct('bpf_attr (MAP_*_ELEM)', '', [
  ['map_fd', 0, 'u32'],
  ['key', 8, 'ptr'],
  ['value', 16, 'ptr'],
  ['flags', 24, 'u64'],
]);

/** BPF_MAP_*_BATCH */
export const MapBatchAttr = defineStruct('bpf_attr (MAP_*_BATCH)', 'batch', [
  ['in_batch', 0, 'ptr'],
  ['out_batch', 8, 'ptr'],
  ['keys', 16, 'ptr'],
  ['values', 24, 'ptr'],
  ['count', 32, 'u32'],
  ['map_fd', 36, 'u32'],
  ['elem_flags', 40, 'u64'],
  ['flags', 48, 'u64'],
]);

/** BPF_PROG_LOAD */
export const ProgLoadAttr = defineStruct('bpf_attr (PROG_LOAD)', '', [
  ['prog_type', 0, 'u32'],
  ['insn_cnt', 4, 'u32'],
  ['insns', 8, 'ptr'],
  ['license', 16, 'ptr'],
  ['log_level', 24, 'u32'],
  ['log_size', 28, 'u32'],
  ['log_buf', 32, 'ptr'],
  ['kern_version', 40, 'u32'],
  ['prog_flags', 44, 'u32'],
  ['prog_name', 48, 'char[16]'],
  ['prog_ifindex', 64, 'u32'],
  ['expected_attach_type', 68, 'u32'],
  ['prog_btf_fd', 72, 'u32'],
  ['func_info_rec_size', 76, 'u32'],
  ['func_info', 80, 'ptr'],
  ['func_info_cnt', 88, 'u32'],
  ['line_info_rec_size', 92, 'u32'],
  ['line_info', 96, 'ptr'],
  ['line_info_cnt', 104, 'u32'],
  ['attach_btf_id', 108, 'u32'],
  /** Union with attach_btf_obj_fd. */
  ['attach_prog_fd', 112, 'u32'],
  ['core_relo_cnt', 116, 'u32'],
  ['fd_array', 120, 'ptr'],
  ['core_relos', 128, 'ptr'],
  ['core_relo_rec_size', 136, 'u32'],
  /** Output (6.4+): the log's full size, even when the buffer was too small. */
  ['log_true_size', 140, 'u32'],
  ['prog_token_fd', 144, 's32'],
]);

/** BPF_OBJ_PIN, BPF_OBJ_GET */
export const ObjPinAttr = defineStruct('bpf_attr (OBJ_PIN/OBJ_GET)', '', [
  ['pathname', 0, 'ptr'],
  ['bpf_fd', 8, 'u32'],
  ['file_flags', 12, 'u32'],
  ['path_fd', 16, 's32'],
]);

/** BPF_PROG_ATTACH, BPF_PROG_DETACH */
export const ProgAttachAttr = defineStruct('bpf_attr (PROG_ATTACH/DETACH)', '', [
  /** Union with target_ifindex. */
  ['target_fd', 0, 'u32'],
  ['attach_bpf_fd', 4, 'u32'],
  ['attach_type', 8, 'u32'],
  ['attach_flags', 12, 'u32'],
  ['replace_bpf_fd', 16, 'u32'],
  /** Union with relative_id (6.6+). */
  ['relative_fd', 20, 'u32'],
  ['expected_revision', 24, 'u64'],
]);

/** BPF_PROG_TEST_RUN */
export const ProgTestRunAttr = defineStruct('bpf_attr (PROG_TEST_RUN)', 'test', [
  ['prog_fd', 0, 'u32'],
  ['retval', 4, 'u32'],
  ['data_size_in', 8, 'u32'],
  ['data_size_out', 12, 'u32'],
  ['data_in', 16, 'ptr'],
  ['data_out', 24, 'ptr'],
  ['repeat', 32, 'u32'],
  ['duration', 36, 'u32'],
  ['ctx_size_in', 40, 'u32'],
  ['ctx_size_out', 44, 'u32'],
  ['ctx_in', 48, 'ptr'],
  ['ctx_out', 56, 'ptr'],
  ['flags', 64, 'u32'],
  ['cpu', 68, 'u32'],
  ['batch_size', 72, 'u32'],
]);

/** BPF_*_GET_NEXT_ID and BPF_*_GET_FD_BY_ID. `start_id` is a union with prog_id/map_id/btf_id/link_id. */
export const GetIdAttr = defineStruct('bpf_attr (*_GET_NEXT_ID/*_GET_FD_BY_ID)', '', [
  ['start_id', 0, 'u32'],
  ['next_id', 4, 'u32'],
  ['open_flags', 8, 'u32'],
]);

/** BPF_OBJ_GET_INFO_BY_FD */
export const ObjInfoAttr = defineStruct('bpf_attr (OBJ_GET_INFO_BY_FD)', 'info', [
  ['bpf_fd', 0, 'u32'],
  ['info_len', 4, 'u32'],
  ['info', 8, 'ptr'],
]);

/** BPF_PROG_QUERY */
export const ProgQueryAttr = defineStruct('bpf_attr (PROG_QUERY)', 'query', [
  /** Union with target_ifindex. */
  ['target_fd', 0, 'u32'],
  ['attach_type', 4, 'u32'],
  ['query_flags', 8, 'u32'],
  ['attach_flags', 12, 'u32'],
  ['prog_ids', 16, 'ptr'],
  /** Union with count (6.6+). */
  ['prog_cnt', 24, 'u32'],
  ['prog_attach_flags', 32, 'ptr'],
  ['link_ids', 40, 'ptr'],
  ['link_attach_flags', 48, 'ptr'],
  ['revision', 56, 'u64'],
]);

/** BPF_RAW_TRACEPOINT_OPEN */
export const RawTracepointAttr = defineStruct('bpf_attr (RAW_TRACEPOINT_OPEN)', 'raw_tracepoint', [
  ['name', 0, 'ptr'],
  ['prog_fd', 8, 'u32'],
  ['cookie', 16, 'u64'],
]);

/** BPF_BTF_LOAD */
export const BtfLoadAttr = defineStruct('bpf_attr (BTF_LOAD)', '', [
  ['btf', 0, 'ptr'],
  ['btf_log_buf', 8, 'ptr'],
  ['btf_size', 16, 'u32'],
  ['btf_log_size', 20, 'u32'],
  ['btf_log_level', 24, 'u32'],
  ['btf_log_true_size', 28, 'u32'],
  ['btf_flags', 32, 'u32'],
  ['btf_token_fd', 36, 's32'],
]);

/** The fields every BPF_LINK_CREATE shares; the tail (from offset 16) is a union per link kind. */
const linkCreateHead = [
  /** Union with map_fd (struct_ops links). */
  ['prog_fd', 0, 'u32'],
  /** Union with target_ifindex. */
  ['target_fd', 4, 'u32'],
  ['attach_type', 8, 'u32'],
  ['flags', 12, 'u32'],
] as const;

/** BPF_LINK_CREATE for cgroup, netns, xdp, sockmap, struct_ops and freplace-by-id links. */
export const LinkCreateAttr = defineStruct('bpf_attr (LINK_CREATE)', 'link_create', [
  ...linkCreateHead,
  ['target_btf_id', 16, 'u32'],
]);

/** BPF_LINK_CREATE of an iterator. */
export const LinkCreateIterAttr = defineStruct('bpf_attr (LINK_CREATE iter)', 'link_create', [
  ...linkCreateHead,
  ['iter_info', 16, 'ptr'],
  ['iter_info_len', 24, 'u32'],
]);

/** BPF_LINK_CREATE of a perf event link (tracepoint, uprobe, software event). */
export const LinkCreatePerfEventAttr = defineStruct('bpf_attr (LINK_CREATE perf_event)', 'link_create', [
  ...linkCreateHead,
  ['bpf_cookie', 16, 'u64', 'perf_event.bpf_cookie'],
]);

/** BPF_LINK_CREATE of a tracing link (fentry/fexit/lsm/tp_btf with a cookie). */
export const LinkCreateTracingAttr = defineStruct('bpf_attr (LINK_CREATE tracing)', 'link_create', [
  ...linkCreateHead,
  ['tracing_target_btf_id', 16, 'u32', 'tracing.target_btf_id'],
  ['cookie', 24, 'u64', 'tracing.cookie'],
]);

/** BPF_LINK_CREATE of a netfilter link. */
export const LinkCreateNetfilterAttr = defineStruct('bpf_attr (LINK_CREATE netfilter)', 'link_create', [
  ...linkCreateHead,
  ['pf', 16, 'u32', 'netfilter.pf'],
  ['hooknum', 20, 'u32', 'netfilter.hooknum'],
  ['priority', 24, 's32', 'netfilter.priority'],
  ['netfilter_flags', 28, 'u32', 'netfilter.flags'],
]);

/** BPF_LINK_CREATE of a tcx (or netkit, or 6.12+ cgroup) link with its ordering. */
export const LinkCreateTcxAttr = defineStruct('bpf_attr (LINK_CREATE tcx)', 'link_create', [
  ...linkCreateHead,
  ['relative_fd', 16, 'u32', 'tcx.relative_fd'],
  ['expected_revision', 24, 'u64', 'tcx.expected_revision'],
]);

/** BPF_LINK_CREATE of a uprobe_multi link. */
export const LinkCreateUprobeMultiAttr = defineStruct('bpf_attr (LINK_CREATE uprobe_multi)', 'link_create', [
  ...linkCreateHead,
  ['path', 16, 'ptr', 'uprobe_multi.path'],
  ['offsets', 24, 'ptr', 'uprobe_multi.offsets'],
  ['ref_ctr_offsets', 32, 'ptr', 'uprobe_multi.ref_ctr_offsets'],
  ['cookies', 40, 'ptr', 'uprobe_multi.cookies'],
  ['cnt', 48, 'u32', 'uprobe_multi.cnt'],
  ['uprobe_flags', 52, 'u32', 'uprobe_multi.flags'],
  ['pid', 56, 'u32', 'uprobe_multi.pid'],
]);

/** BPF_LINK_UPDATE */
export const LinkUpdateAttr = defineStruct('bpf_attr (LINK_UPDATE)', 'link_update', [
  ['link_fd', 0, 'u32'],
  /** Union with new_map_fd. */
  ['new_prog_fd', 4, 'u32'],
  ['flags', 8, 'u32'],
  /** Union with old_map_fd. */
  ['old_prog_fd', 12, 'u32'],
]);

/** BPF_LINK_DETACH */
export const LinkDetachAttr = defineStruct('bpf_attr (LINK_DETACH)', 'link_detach', [['link_fd', 0, 'u32']]);

/** BPF_ENABLE_STATS */
export const EnableStatsAttr = defineStruct('bpf_attr (ENABLE_STATS)', 'enable_stats', [['type', 0, 'u32']]);

/** BPF_ITER_CREATE */
export const IterCreateAttr = defineStruct('bpf_attr (ITER_CREATE)', 'iter_create', [
  ['link_fd', 0, 'u32'],
  ['flags', 4, 'u32'],
]);

/** BPF_PROG_BIND_MAP */
export const ProgBindMapAttr = defineStruct('bpf_attr (PROG_BIND_MAP)', 'prog_bind_map', [
  ['prog_fd', 0, 'u32'],
  ['map_fd', 4, 'u32'],
  ['flags', 8, 'u32'],
]);

/** Every layout, for the header cross-check. */
export const allAttrLayouts = [
  MapCreateAttr,
  MapElemAttr,
  MapBatchAttr,
  ProgLoadAttr,
  ObjPinAttr,
  ProgAttachAttr,
  ProgTestRunAttr,
  GetIdAttr,
  ObjInfoAttr,
  ProgQueryAttr,
  RawTracepointAttr,
  BtfLoadAttr,
  LinkCreateAttr,
  LinkCreateIterAttr,
  LinkCreatePerfEventAttr,
  LinkCreateTracingAttr,
  LinkCreateNetfilterAttr,
  LinkCreateTcxAttr,
  LinkCreateUprobeMultiAttr,
  LinkUpdateAttr,
  LinkDetachAttr,
  EnableStatsAttr,
  IterCreateAttr,
  ProgBindMapAttr,
];
