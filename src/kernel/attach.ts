/**
 * Attaching programs to hooks, as bpf_links wherever the kernel has them: cgroups,
 * network devices (XDP, tcx), network namespaces (sk_lookup, flow dissector),
 * sockmap/sockhash, tracing (fentry/fexit/lsm/tp_btf), freplace, raw tracepoints, perf events
 * (software events, tracepoints) and netfilter hooks. Socket filters have no link: they
 * come back as a LegacyAttachment that detaches on close.
 */
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { AttachType, attachTypeName, ProgType, progTypeName } from '../uapi/index.js';
import {
  BpfCmd,
  LinkCreateAttr,
  LinkCreateNetfilterAttr,
  LinkCreatePerfEventAttr,
  LinkCreateTcxAttr,
  RawTracepointAttr,
} from './bpf-attr.js';
import { Errno } from './errno.js';
import { BpfError } from './errors.js';
import type { FieldValue, StructLayout } from './layout.js';
import { KernelLink, LegacyAttachment, closeFd } from './link.js';
import type { KernelMap } from './map.js';
import { native } from './native.js';
import { cString } from './object-fd.js';
import { openPerfEvent, PerfType } from './perf-event.js';
import type { KernelProgram } from './program.js';
import { programFunctionBtfId } from './program-btf.js';
import { tryBpf } from './syscall.js';
import { tracepointId } from './tracefs.js';

function createLink<N extends string>(layout: StructLayout<N>, values: Partial<Record<N, FieldValue>>, description: string, program: KernelProgram): KernelLink {
  const outcome = tryBpf(BpfCmd.LINK_CREATE, layout, values);
  if (outcome.result < 0) throw attachError('LINK_CREATE', -outcome.result, description, program);
  return new KernelLink(outcome.result, description);
}

function attachError(command: string, errno: number, description: string, program: KernelProgram): BpfError {
  const label = progTypeName(program.type)?.toLowerCase() ?? `type ${program.type}`;
  const hint =
    errno === Errno.EINVAL
      ? `the kernel refused to attach this ${label} program here: check that its type and expected attach type match the hook`
      : errno === Errno.EEXIST || errno === Errno.EBUSY
        ? 'something is already attached there in exclusive mode'
        : errno === Errno.EPERM || errno === Errno.EACCES
          ? 'needs root or CAP_BPF plus CAP_NET_ADMIN (networking) or CAP_PERFMON (tracing)'
          : errno === Errno.EOPNOTSUPP || errno === Errno.ENOTSUPP
            ? 'this kernel has no link for this attach point'
            : undefined;
  return new BpfError(command, errno, { subject: `program ${program.name || '(unnamed)'} to ${description}`, ...(hint && { hint }) });
}

/** An fd for a path (a cgroup directory, a netns file), open only for the attach call. */
function withPathFd<T>(target: string | number, use: (fd: number) => T): T {
  if (typeof target === 'number') return use(target);
  const fd = openSync(target, 'r');
  try {
    return use(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Attach to a cgroup (v2 directory path or fd) with a link. `attachType` defaults to
 * the program's expected attach type (cgroup_skb programs must give INGRESS or EGRESS).
 */
export function attachCgroup(program: KernelProgram, cgroup: string | number, attachType = program.expectedAttachType): KernelLink {
  if (attachType === undefined) throw new TypeError(`program ${program.name}: give the cgroup attach type (e.g. AttachType.CGROUP_INET_EGRESS)`);
  const where = typeof cgroup === 'string' ? cgroup : `cgroup fd ${cgroup}`;
  return withPathFd(cgroup, (fd) =>
    createLink(LinkCreateAttr, { prog_fd: program.fd, target_fd: fd, attach_type: attachType }, `cgroup ${attachName(attachType)} ${where}`, program),
  );
}

/** Attach an XDP program to a network device (name or ifindex). `flags`: XDP_FLAGS_SKB_MODE/DRV_MODE... */
export function attachXdp(program: KernelProgram, device: string | number, flags = 0): KernelLink {
  const ifindex = interfaceIndex(device);
  return createLink(LinkCreateAttr, { prog_fd: program.fd, target_fd: ifindex, attach_type: AttachType.XDP, flags }, `xdp ${device}`, program);
}

/** Attach a tc program (SCHED_CLS) with tcx to a device's ingress or egress. */
export function attachTcx(program: KernelProgram, device: string | number, direction: 'ingress' | 'egress'): KernelLink {
  const ifindex = interfaceIndex(device);
  const attachType = direction === 'ingress' ? AttachType.TCX_INGRESS : AttachType.TCX_EGRESS;
  return createLink(LinkCreateTcxAttr, { prog_fd: program.fd, target_fd: ifindex, attach_type: attachType }, `tcx ${direction} ${device}`, program);
}

/** Attach sk_lookup or flow_dissector to a network namespace (default: this process's). */
export function attachNetns(program: KernelProgram, netns: string | number = '/proc/self/ns/net'): KernelLink {
  const attachType = program.type === ProgType.SK_LOOKUP ? AttachType.SK_LOOKUP : AttachType.FLOW_DISSECTOR;
  return withPathFd(netns, (fd) =>
    createLink(LinkCreateAttr, { prog_fd: program.fd, target_fd: fd, attach_type: attachType }, `netns ${String(netns)}`, program),
  );
}

/**
 * Attach an sk_msg or sk_skb program to a sockmap/sockhash, as a link (Linux 6.10+).
 * `attachType`: SK_MSG_VERDICT, SK_SKB_STREAM_VERDICT, SK_SKB_STREAM_PARSER or SK_SKB_VERDICT.
 */
export function attachSockMap(program: KernelProgram, map: KernelMap, attachType = program.expectedAttachType): KernelLink {
  if (attachType === undefined) throw new TypeError(`program ${program.name}: give the sockmap attach type (e.g. AttachType.SK_MSG_VERDICT)`);
  return createLink(LinkCreateAttr, { prog_fd: program.fd, target_fd: map.fd, attach_type: attachType }, `${map.name} ${attachName(attachType)}`, program);
}

/** Attach fentry/fexit/fmod_ret/lsm/tp_btf/iterator-less tracing programs (target chosen at load). */
export function attachTracing(program: KernelProgram): KernelLink {
  const attachType = program.type === ProgType.LSM ? AttachType.LSM_MAC : program.expectedAttachType;
  if (attachType === undefined) throw new TypeError(`program ${program.name}: tracing programs need the expected attach type they were loaded with`);
  return createLink(LinkCreateAttr, { prog_fd: program.fd, target_fd: 0, attach_type: attachType }, attachName(attachType), program);
}

/** The function an freplace program replaces: a global function of a loaded program. */
export interface FreplaceTarget {
  program: KernelProgram;
  /** The function's name (a global, non-inlined function in the target's BTF). */
  function: string;
}

/**
 * Attach an freplace (BPF_PROG_TYPE_EXT) program: from then on, calls to the target
 * function run it instead. Without `target` the kernel uses the target given at load,
 * for the first link only; give it to attach again after a detach, or to replace the
 * same function in another program of the same type.
 */
export function attachFreplace(program: KernelProgram, target?: FreplaceTarget): KernelLink {
  if (program.type !== ProgType.EXT) throw new TypeError(`program ${program.name} is not an freplace (ext) program`);
  const btfId = target ? programFunctionBtfId(target.program, target.function) : 0;
  const description = target ? `freplace ${target.program.name}:${target.function}` : 'freplace (its load-time target)';
  const outcome = tryBpf(BpfCmd.LINK_CREATE, LinkCreateAttr, { prog_fd: program.fd, target_fd: target?.program.fd ?? 0, attach_type: 0, target_btf_id: btfId });
  if (outcome.result >= 0) return new KernelLink(outcome.result, description);
  const errno = -outcome.result;
  if (errno === Errno.EINVAL && !target) {
    throw new BpfError('LINK_CREATE', errno, {
      subject: `program ${program.name} to ${description}`,
      hint: 'the target given at load serves the first link only: pass the target program and function to attach again',
    });
  }
  throw attachError('LINK_CREATE', errno, description, program);
}

/** Attach to a raw tracepoint by name (e.g. "sys_enter"). */
export function attachRawTracepoint(program: KernelProgram, name: string): KernelLink {
  const outcome = tryBpf(BpfCmd.RAW_TRACEPOINT_OPEN, RawTracepointAttr, { name: cString(name), prog_fd: program.fd });
  if (outcome.result < 0) throw attachError('RAW_TRACEPOINT_OPEN', -outcome.result, `raw tracepoint ${name}`, program);
  return new KernelLink(outcome.result, `raw tracepoint ${name}`);
}

/** Attach to an open perf event fd (software event, tracepoint, uprobe); the link keeps the event. */
export function attachPerfEvent(program: KernelProgram, perfFd: number, cookie = 0n, description = `perf event fd ${perfFd}`): KernelLink {
  return createLink(LinkCreatePerfEventAttr, { prog_fd: program.fd, target_fd: perfFd, attach_type: AttachType.PERF_EVENT, bpf_cookie: cookie }, description, program);
}

/** Attach a TRACEPOINT program to `category/name` (mounting tracefs when needed). */
export function attachTracepoint(program: KernelProgram, category: string, name: string): KernelLink {
  const perfFd = openPerfEvent({ type: PerfType.TRACEPOINT, config: tracepointId(category, name), pid: -1, cpu: 0, samplePeriod: 1 });
  try {
    return attachPerfEvent(program, perfFd, 0n, `tracepoint ${category}/${name}`);
  } finally {
    // The link holds its own reference to the event.
    closeFd(perfFd);
  }
}

/** Attach a netfilter program to a hook (NFPROTO_IPV4 = 2, NF_INET_LOCAL_IN = 1, ...). */
export function attachNetfilter(program: KernelProgram, hook: { pf: number; hooknum: number; priority: number; flags?: number }): KernelLink {
  return createLink(
    LinkCreateNetfilterAttr,
    { prog_fd: program.fd, attach_type: AttachType.NETFILTER, pf: hook.pf, hooknum: hook.hooknum, priority: hook.priority, netfilter_flags: hook.flags ?? 0 },
    `netfilter pf ${hook.pf} hook ${hook.hooknum} priority ${hook.priority}`,
    program,
  );
}

const SOL_SOCKET = 1;
const SO_ATTACH_BPF = 50;
const SO_DETACH_BPF = 27;

/** Attach a socket filter to a socket fd (SO_ATTACH_BPF; sockets have no bpf_link). */
export function attachSocketFilter(program: KernelProgram, socketFd: number): LegacyAttachment {
  // optlen must be exactly sizeof(int).
  const value = new Uint8Array(new Int32Array([program.fd]).buffer);
  const n = native();
  const r = n.setsockopt(socketFd, SOL_SOCKET, SO_ATTACH_BPF, value);
  if (r < 0) throw attachError('setsockopt(SO_ATTACH_BPF)', -r, `socket fd ${socketFd}`, program);
  return new LegacyAttachment(`socket filter on fd ${socketFd}`, () => {
    // The socket may be closed already, which detaches the filter too.
    n.setsockopt(socketFd, SOL_SOCKET, SO_DETACH_BPF, new Uint8Array(4));
  });
}

/** A device's ifindex from its name (in this process's network namespace). */
export function interfaceIndex(device: string | number): number {
  if (typeof device === 'number') return device;
  const path = `/sys/class/net/${device}/ifindex`;
  if (!existsSync(path)) throw new Error(`no network device ${device} in this network namespace`);
  return Number(readFileSync(path, 'utf8').trim());
}

function attachName(attachType: number): string {
  return attachTypeName(attachType)?.toLowerCase() ?? `attach type ${attachType}`;
}
