import { ProgType as T } from '../../uapi/prog-types.js';
import { getCurrentComm, getCurrentPidTgid, getCurrentUidGid, getNumaNodeId, getPrandomU32, getSmpProcessorId, ktimeGetNs, loop, probeRead, probeReadStr, spinLock, tailCall } from './core-helpers.js';
import type { HelperFn } from './helper.js';
import { forEachMapElem, mapDeleteElem, mapLookupElem, mapPeekElem, mapPopElem, mapPushElem, mapUpdateElem } from './map-helpers.js';
import { csumDiff, l3CsumReplace, l4CsumReplace, redirect, skbLoadBytes, skbStoreBytes, xdpAdjustHead, xdpAdjustMeta, xdpAdjustTail } from './net-helpers.js';
import { perfEventOutput, ringbufDiscard, ringbufOutput, ringbufQuery, ringbufReserve, ringbufSubmit } from './ringbuf-helpers.js';
import { getSocketCookie, msgBytesNoop, msgRedirectHash, msgRedirectMap, skStorageDelete, skStorageGet, sockMapUpdate, sockOpsCbFlagsSet, skcToTcpSock } from './sock-helpers.js';
import { tracePrintk } from './trace-printk.js';
import { perfProgReadValue } from './tracing-helpers.js';

/** A helper with the program types that may call it. */
export interface HelperDefinition {
  id: number;
  /** Name without the bpf_ prefix, as in the kernel's FN() list. */
  name: string;
  fn: HelperFn;
  /** Program types (enum bpf_prog_type) that may call it, or 'all' (the kernel's bpf_base_func_proto). */
  types: readonly number[] | 'all';
  /** With 'all': types that still may not call it. */
  except?: readonly number[];
}

/** Tracing program types (kprobe, tracepoint, perf event, raw tracepoint, fentry/lsm, syscall). */
const TRACING = [T.KPROBE, T.TRACEPOINT, T.PERF_EVENT, T.RAW_TRACEPOINT, T.RAW_TRACEPOINT_WRITABLE, T.TRACING, T.LSM, T.SYSCALL];
/** Program types whose context is a socket buffer. */
const SKB = [T.SOCKET_FILTER, T.SCHED_CLS, T.SCHED_ACT, T.CGROUP_SKB, T.SK_SKB, T.LWT_IN, T.LWT_OUT, T.LWT_XMIT, T.LWT_SEG6LOCAL, T.SK_REUSEPORT, T.FLOW_DISSECTOR];
const TC = [T.SCHED_CLS, T.SCHED_ACT];
/** Types running in a task's context, where the current task is meaningful. */
const TASK = [...TRACING, T.SK_MSG, T.CGROUP_SOCK, T.CGROUP_SOCK_ADDR, T.CGROUP_SOCKOPT, T.CGROUP_SYSCTL, T.CGROUP_DEVICE];
/** Types with bpf_perf_event_output. */
const PERF_OUTPUT = [...TRACING, ...SKB, T.XDP, T.SOCK_OPS, T.SK_MSG, T.CGROUP_SOCK, T.CGROUP_SOCK_ADDR];

const SOCKET_TYPES = [T.SOCK_OPS, T.SK_MSG, T.SK_SKB, T.CGROUP_SOCK, T.CGROUP_SOCK_ADDR, T.SOCKET_FILTER, T.SCHED_CLS, T.SCHED_ACT, T.CGROUP_SKB];
const STORAGE_TYPES = [T.SOCK_OPS, T.SK_MSG, T.CGROUP_SKB, T.CGROUP_SOCK, T.CGROUP_SOCK_ADDR, T.SCHED_CLS, T.SCHED_ACT, T.TRACING, T.LSM];

const def = (id: number, name: string, fn: HelperFn, types: readonly number[] | 'all', except?: readonly number[]): HelperDefinition => ({ id, name, fn, types, ...(except ? { except } : {}) });

/**
 * Types the verifier forbids maps with a bpf_spin_lock ("socket filter progs / tracing
 * progs cannot use bpf_spin_lock yet"), so they can never call the lock helpers.
 */
const NO_SPIN_LOCK = [T.SOCKET_FILTER, T.KPROBE, T.TRACEPOINT, T.PERF_EVENT, T.RAW_TRACEPOINT, T.RAW_TRACEPOINT_WRITABLE];

/** Every helper the vm implements, with the kernel's id. */
export const HELPER_DEFINITIONS: readonly HelperDefinition[] = [
  def(1, 'map_lookup_elem', mapLookupElem, 'all'),
  def(2, 'map_update_elem', mapUpdateElem, 'all'),
  def(3, 'map_delete_elem', mapDeleteElem, 'all'),
  def(4, 'probe_read', probeRead(false), TRACING),
  def(5, 'ktime_get_ns', ktimeGetNs, 'all'),
  def(6, 'trace_printk', tracePrintk, 'all'),
  def(7, 'get_prandom_u32', getPrandomU32, 'all'),
  def(8, 'get_smp_processor_id', getSmpProcessorId, 'all'),
  def(9, 'skb_store_bytes', skbStoreBytes, TC),
  def(10, 'l3_csum_replace', l3CsumReplace, TC),
  def(11, 'l4_csum_replace', l4CsumReplace, TC),
  def(12, 'tail_call', tailCall, 'all'),
  def(14, 'get_current_pid_tgid', getCurrentPidTgid, TASK),
  def(15, 'get_current_uid_gid', getCurrentUidGid, TASK),
  def(16, 'get_current_comm', getCurrentComm, TASK),
  def(23, 'redirect', redirect, [...TC, T.XDP]),
  def(25, 'perf_event_output', perfEventOutput, PERF_OUTPUT),
  def(26, 'skb_load_bytes', skbLoadBytes, SKB),
  def(28, 'csum_diff', csumDiff, [...TC, T.XDP, T.LWT_IN, T.LWT_OUT, T.LWT_XMIT]),
  def(42, 'get_numa_node_id', getNumaNodeId, 'all'),
  def(44, 'xdp_adjust_head', xdpAdjustHead, [T.XDP]),
  def(45, 'probe_read_str', probeReadStr(false), TRACING),
  def(46, 'get_socket_cookie', getSocketCookie, SOCKET_TYPES),
  def(53, 'sock_map_update', sockMapUpdate, [T.SOCK_OPS]),
  def(54, 'xdp_adjust_meta', xdpAdjustMeta, [T.XDP]),
  def(59, 'sock_ops_cb_flags_set', sockOpsCbFlagsSet, [T.SOCK_OPS]),
  def(60, 'msg_redirect_map', msgRedirectMap, [T.SK_MSG]),
  def(61, 'msg_apply_bytes', msgBytesNoop, [T.SK_MSG]),
  def(62, 'msg_cork_bytes', msgBytesNoop, [T.SK_MSG]),
  def(65, 'xdp_adjust_tail', xdpAdjustTail, [T.XDP]),
  def(70, 'sock_hash_update', sockMapUpdate, [T.SOCK_OPS]),
  def(71, 'msg_redirect_hash', msgRedirectHash, [T.SK_MSG]),
  def(87, 'map_push_elem', mapPushElem, 'all'),
  def(88, 'map_pop_elem', mapPopElem, 'all'),
  def(89, 'map_peek_elem', mapPeekElem, 'all'),
  def(56, 'perf_prog_read_value', perfProgReadValue, [T.PERF_EVENT]),
  def(93, 'spin_lock', spinLock, 'all', NO_SPIN_LOCK),
  def(94, 'spin_unlock', spinLock, 'all', NO_SPIN_LOCK),
  def(107, 'sk_storage_get', skStorageGet, STORAGE_TYPES),
  def(108, 'sk_storage_delete', skStorageDelete, STORAGE_TYPES),
  def(112, 'probe_read_user', probeRead(true), 'all'),
  def(113, 'probe_read_kernel', probeRead(false), 'all'),
  def(114, 'probe_read_user_str', probeReadStr(true), 'all'),
  def(115, 'probe_read_kernel_str', probeReadStr(false), 'all'),
  def(125, 'ktime_get_boot_ns', ktimeGetNs, 'all'),
  def(130, 'ringbuf_output', ringbufOutput, 'all'),
  def(131, 'ringbuf_reserve', ringbufReserve, 'all'),
  def(132, 'ringbuf_submit', ringbufSubmit, 'all'),
  def(133, 'ringbuf_discard', ringbufDiscard, 'all'),
  def(134, 'ringbuf_query', ringbufQuery, 'all'),
  def(137, 'skc_to_tcp_sock', skcToTcpSock, [...SOCKET_TYPES, ...TRACING]),
  def(160, 'ktime_get_coarse_ns', ktimeGetNs, 'all'),
  def(164, 'for_each_map_elem', forEachMapElem, 'all'),
  def(181, 'loop', loop, 'all'),
];
