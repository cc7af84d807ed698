import { AttachType as A } from '../uapi/attach-types.js';
import { ProgType as P } from '../uapi/prog-types.js';

/**
 * libbpf's section-name table (`section_defs` in libbpf.c, libbpf 1.5), as data. The
 * order matters: the first entry that matches wins, exactly as in libbpf.
 *
 * Patterns follow libbpf's three forms:
 * - `name`  matches exactly;
 * - `name+` matches `name` or `name/extras` (the extras name the attach target);
 * - `name/` matches any `name/extras` (none here, kept for completeness).
 */
export interface SectionDef {
  pattern: string;
  progType: number;
  /** Expected attach type at load; undefined where libbpf passes 0 with no meaning. */
  attachType?: number;
  /** SEC_SLEEPABLE: load with BPF_F_SLEEPABLE. */
  sleepable?: boolean;
  /** SEC_XDP_FRAGS: load with BPF_F_XDP_HAS_FRAGS. */
  xdpFrags?: boolean;
  /** SEC_ATTACH_BTF: the extras name a BTF function / tracepoint / hook the kernel resolves at load. */
  attachBtf?: boolean;
  /** libbpf has an auto-attach handler for it (it attaches when the extras name a target). */
  autoAttach?: boolean;
  /** SEC_USDT. */
  usdt?: boolean;
}

const sleepable = true;
const xdpFrags = true;
const attachBtf = true;
const autoAttach = true;

export const SECTION_DEFS: readonly SectionDef[] = [
  { pattern: 'socket', progType: P.SOCKET_FILTER },
  { pattern: 'sk_reuseport/migrate', progType: P.SK_REUSEPORT, attachType: A.SK_REUSEPORT_SELECT_OR_MIGRATE },
  { pattern: 'sk_reuseport', progType: P.SK_REUSEPORT, attachType: A.SK_REUSEPORT_SELECT },
  { pattern: 'kprobe+', progType: P.KPROBE, autoAttach },
  { pattern: 'uprobe+', progType: P.KPROBE, autoAttach },
  { pattern: 'uprobe.s+', progType: P.KPROBE, sleepable, autoAttach },
  { pattern: 'kretprobe+', progType: P.KPROBE, autoAttach },
  { pattern: 'uretprobe+', progType: P.KPROBE, autoAttach },
  { pattern: 'uretprobe.s+', progType: P.KPROBE, sleepable, autoAttach },
  { pattern: 'kprobe.multi+', progType: P.KPROBE, attachType: A.TRACE_KPROBE_MULTI, autoAttach },
  { pattern: 'kretprobe.multi+', progType: P.KPROBE, attachType: A.TRACE_KPROBE_MULTI, autoAttach },
  { pattern: 'kprobe.session+', progType: P.KPROBE, attachType: A.TRACE_KPROBE_SESSION, autoAttach },
  { pattern: 'uprobe.multi+', progType: P.KPROBE, attachType: A.TRACE_UPROBE_MULTI, autoAttach },
  { pattern: 'uretprobe.multi+', progType: P.KPROBE, attachType: A.TRACE_UPROBE_MULTI, autoAttach },
  { pattern: 'uprobe.multi.s+', progType: P.KPROBE, attachType: A.TRACE_UPROBE_MULTI, sleepable, autoAttach },
  { pattern: 'uretprobe.multi.s+', progType: P.KPROBE, attachType: A.TRACE_UPROBE_MULTI, sleepable, autoAttach },
  { pattern: 'ksyscall+', progType: P.KPROBE, autoAttach },
  { pattern: 'kretsyscall+', progType: P.KPROBE, autoAttach },
  { pattern: 'usdt+', progType: P.KPROBE, usdt: true, autoAttach },
  { pattern: 'usdt.s+', progType: P.KPROBE, usdt: true, sleepable, autoAttach },
  { pattern: 'tc/ingress', progType: P.SCHED_CLS, attachType: A.TCX_INGRESS },
  { pattern: 'tc/egress', progType: P.SCHED_CLS, attachType: A.TCX_EGRESS },
  { pattern: 'tcx/ingress', progType: P.SCHED_CLS, attachType: A.TCX_INGRESS },
  { pattern: 'tcx/egress', progType: P.SCHED_CLS, attachType: A.TCX_EGRESS },
  { pattern: 'tc', progType: P.SCHED_CLS },
  { pattern: 'classifier', progType: P.SCHED_CLS },
  { pattern: 'action', progType: P.SCHED_ACT },
  { pattern: 'netkit/primary', progType: P.SCHED_CLS, attachType: A.NETKIT_PRIMARY },
  { pattern: 'netkit/peer', progType: P.SCHED_CLS, attachType: A.NETKIT_PEER },
  { pattern: 'tracepoint+', progType: P.TRACEPOINT, autoAttach },
  { pattern: 'tp+', progType: P.TRACEPOINT, autoAttach },
  { pattern: 'raw_tracepoint+', progType: P.RAW_TRACEPOINT, autoAttach },
  { pattern: 'raw_tp+', progType: P.RAW_TRACEPOINT, autoAttach },
  { pattern: 'raw_tracepoint.w+', progType: P.RAW_TRACEPOINT_WRITABLE, autoAttach },
  { pattern: 'raw_tp.w+', progType: P.RAW_TRACEPOINT_WRITABLE, autoAttach },
  { pattern: 'tp_btf+', progType: P.TRACING, attachType: A.TRACE_RAW_TP, attachBtf, autoAttach },
  { pattern: 'fentry+', progType: P.TRACING, attachType: A.TRACE_FENTRY, attachBtf, autoAttach },
  { pattern: 'fmod_ret+', progType: P.TRACING, attachType: A.MODIFY_RETURN, attachBtf, autoAttach },
  { pattern: 'fexit+', progType: P.TRACING, attachType: A.TRACE_FEXIT, attachBtf, autoAttach },
  { pattern: 'fentry.s+', progType: P.TRACING, attachType: A.TRACE_FENTRY, attachBtf, sleepable, autoAttach },
  { pattern: 'fmod_ret.s+', progType: P.TRACING, attachType: A.MODIFY_RETURN, attachBtf, sleepable, autoAttach },
  { pattern: 'fexit.s+', progType: P.TRACING, attachType: A.TRACE_FEXIT, attachBtf, sleepable, autoAttach },
  { pattern: 'freplace+', progType: P.EXT, attachBtf, autoAttach },
  { pattern: 'lsm+', progType: P.LSM, attachType: A.LSM_MAC, attachBtf, autoAttach },
  { pattern: 'lsm.s+', progType: P.LSM, attachType: A.LSM_MAC, attachBtf, sleepable, autoAttach },
  { pattern: 'lsm_cgroup+', progType: P.LSM, attachType: A.LSM_CGROUP, attachBtf },
  { pattern: 'iter+', progType: P.TRACING, attachType: A.TRACE_ITER, attachBtf, autoAttach },
  { pattern: 'iter.s+', progType: P.TRACING, attachType: A.TRACE_ITER, attachBtf, sleepable, autoAttach },
  { pattern: 'syscall', progType: P.SYSCALL, sleepable },
  { pattern: 'xdp.frags/devmap', progType: P.XDP, attachType: A.XDP_DEVMAP, xdpFrags },
  { pattern: 'xdp/devmap', progType: P.XDP, attachType: A.XDP_DEVMAP },
  { pattern: 'xdp.frags/cpumap', progType: P.XDP, attachType: A.XDP_CPUMAP, xdpFrags },
  { pattern: 'xdp/cpumap', progType: P.XDP, attachType: A.XDP_CPUMAP },
  { pattern: 'xdp.frags', progType: P.XDP, attachType: A.XDP, xdpFrags },
  { pattern: 'xdp', progType: P.XDP, attachType: A.XDP },
  { pattern: 'perf_event', progType: P.PERF_EVENT },
  { pattern: 'lwt_in', progType: P.LWT_IN },
  { pattern: 'lwt_out', progType: P.LWT_OUT },
  { pattern: 'lwt_xmit', progType: P.LWT_XMIT },
  { pattern: 'lwt_seg6local', progType: P.LWT_SEG6LOCAL },
  { pattern: 'sockops', progType: P.SOCK_OPS, attachType: A.CGROUP_SOCK_OPS },
  { pattern: 'sk_skb/stream_parser', progType: P.SK_SKB, attachType: A.SK_SKB_STREAM_PARSER },
  { pattern: 'sk_skb/stream_verdict', progType: P.SK_SKB, attachType: A.SK_SKB_STREAM_VERDICT },
  { pattern: 'sk_skb', progType: P.SK_SKB },
  { pattern: 'sk_msg', progType: P.SK_MSG, attachType: A.SK_MSG_VERDICT },
  { pattern: 'lirc_mode2', progType: P.LIRC_MODE2, attachType: A.LIRC_MODE2 },
  { pattern: 'flow_dissector', progType: P.FLOW_DISSECTOR, attachType: A.FLOW_DISSECTOR },
  { pattern: 'cgroup_skb/ingress', progType: P.CGROUP_SKB, attachType: A.CGROUP_INET_INGRESS },
  { pattern: 'cgroup_skb/egress', progType: P.CGROUP_SKB, attachType: A.CGROUP_INET_EGRESS },
  { pattern: 'cgroup/skb', progType: P.CGROUP_SKB },
  { pattern: 'cgroup/sock_create', progType: P.CGROUP_SOCK, attachType: A.CGROUP_INET_SOCK_CREATE },
  { pattern: 'cgroup/sock_release', progType: P.CGROUP_SOCK, attachType: A.CGROUP_INET_SOCK_RELEASE },
  { pattern: 'cgroup/sock', progType: P.CGROUP_SOCK, attachType: A.CGROUP_INET_SOCK_CREATE },
  { pattern: 'cgroup/post_bind4', progType: P.CGROUP_SOCK, attachType: A.CGROUP_INET4_POST_BIND },
  { pattern: 'cgroup/post_bind6', progType: P.CGROUP_SOCK, attachType: A.CGROUP_INET6_POST_BIND },
  { pattern: 'cgroup/bind4', progType: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_INET4_BIND },
  { pattern: 'cgroup/bind6', progType: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_INET6_BIND },
  { pattern: 'cgroup/connect4', progType: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_INET4_CONNECT },
  { pattern: 'cgroup/connect6', progType: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_INET6_CONNECT },
  { pattern: 'cgroup/connect_unix', progType: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_UNIX_CONNECT },
  { pattern: 'cgroup/sendmsg4', progType: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_UDP4_SENDMSG },
  { pattern: 'cgroup/sendmsg6', progType: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_UDP6_SENDMSG },
  { pattern: 'cgroup/sendmsg_unix', progType: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_UNIX_SENDMSG },
  { pattern: 'cgroup/recvmsg4', progType: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_UDP4_RECVMSG },
  { pattern: 'cgroup/recvmsg6', progType: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_UDP6_RECVMSG },
  { pattern: 'cgroup/recvmsg_unix', progType: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_UNIX_RECVMSG },
  { pattern: 'cgroup/getpeername4', progType: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_INET4_GETPEERNAME },
  { pattern: 'cgroup/getpeername6', progType: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_INET6_GETPEERNAME },
  { pattern: 'cgroup/getpeername_unix', progType: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_UNIX_GETPEERNAME },
  { pattern: 'cgroup/getsockname4', progType: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_INET4_GETSOCKNAME },
  { pattern: 'cgroup/getsockname6', progType: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_INET6_GETSOCKNAME },
  { pattern: 'cgroup/getsockname_unix', progType: P.CGROUP_SOCK_ADDR, attachType: A.CGROUP_UNIX_GETSOCKNAME },
  { pattern: 'cgroup/sysctl', progType: P.CGROUP_SYSCTL, attachType: A.CGROUP_SYSCTL },
  { pattern: 'cgroup/getsockopt', progType: P.CGROUP_SOCKOPT, attachType: A.CGROUP_GETSOCKOPT },
  { pattern: 'cgroup/setsockopt', progType: P.CGROUP_SOCKOPT, attachType: A.CGROUP_SETSOCKOPT },
  { pattern: 'cgroup/dev', progType: P.CGROUP_DEVICE, attachType: A.CGROUP_DEVICE },
  { pattern: 'struct_ops+', progType: P.STRUCT_OPS },
  { pattern: 'struct_ops.s+', progType: P.STRUCT_OPS, sleepable },
  { pattern: 'sk_lookup', progType: P.SK_LOOKUP, attachType: A.SK_LOOKUP },
  { pattern: 'netfilter', progType: P.NETFILTER, attachType: A.NETFILTER },
];
