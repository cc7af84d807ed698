import type { TestRunOptions, TestRunResult } from '../api/types.js';
import { ProgType } from '../uapi/prog-types.js';
import { PacketBuffer } from './contexts/packet.js';
import { SkBuffContext } from './contexts/sk-buff.js';
import { XdpContext } from './contexts/xdp-md.js';
import type { PerfEventValue } from './contexts/perf-event-data.js';
import { MAX_RAW_TP_ARGS, RawTracepointContext } from './contexts/raw-tracepoint.js';
import { tracingContext } from './contexts/tracing-context.js';
import { VmErrnoError } from './errors.js';
import type { RunInput } from './interpreter.js';
import { AddressSpace, Region } from './memory.js';
import type { LoadedProgram } from './program.js';
import type { VmRuntime } from './runtime.js';

/** BPF_F_TEST_RUN_ON_CPU. */
const TEST_RUN_ON_CPU = 1 << 0;
const ETH_HLEN = 14;

/** Program types whose test run builds an skb, and whether the program sees the L2 header. */
const SKB_TYPES = new Map<number, boolean>([
  [ProgType.SOCKET_FILTER, false],
  [ProgType.CGROUP_SKB, false],
  [ProgType.SCHED_CLS, true],
  [ProgType.SCHED_ACT, true],
]);

/**
 * Program types the kernel has no BPF_PROG_TEST_RUN for (-ENOTSUPP): the vm refuses them
 * too, so code written against testRun behaves alike on both backends. Run them with
 * {@link runOnContext}, or for sockops/sk_msg/sock_addr with the SocketSimulation.
 */
const NO_TEST_RUN = new Set<number>([ProgType.KPROBE, ProgType.TRACEPOINT, ProgType.PERF_EVENT, ProgType.SOCK_OPS, ProgType.SK_MSG, ProgType.SK_SKB, ProgType.CGROUP_SOCK_ADDR, ProgType.CGROUP_SOCK, ProgType.CGROUP_DEVICE, ProgType.CGROUP_SYSCTL, ProgType.CGROUP_SOCKOPT, ProgType.LSM]);

/** Options of {@link runOnContext}. */
export interface RunOnContextOptions {
  /** The virtual CPU (default 0). */
  cpu?: number;
  /** For perf event programs: the counter bpf_perf_prog_read_value reports. */
  perfEventValue?: PerfEventValue;
}

/**
 * Run a program of any type on its context bytes: r1 points at a read-only copy of `ctx`.
 * Tracing types get their kernel context rules (see contexts/tracing-context.ts): a
 * tracepoint's record (build with the event's format), raw tracepoint arguments
 * ({@link rawTracepointArgs}), kprobe pt_regs ({@link ptRegs}) or a perf event's
 * bpf_perf_event_data ({@link perfEventData}); other types see plain bytes.
 * Returns r0 as the 64-bit value the program returned.
 */
export function runOnContext(rt: VmRuntime, prog: LoadedProgram, ctx: Uint8Array, options: number | RunOnContextOptions = {}): bigint {
  const { cpu = 0, perfEventValue } = typeof options === 'number' ? { cpu: options } : options;
  const bytes = ctx.slice();
  const context = tracingContext(rt.memory, prog.type, bytes, perfEventValue);
  const region = context?.region ?? rt.memory.add(new Region('context', 'context', bytes, false));
  try {
    return rt.machine.run(prog, { args: [{ lo: AddressSpace.lo(0), hi: region.hi }], cpu, context });
  } finally {
    rt.memory.remove(region);
  }
}

const clock = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * BPF_PROG_TEST_RUN on the vm, following the kernel's conventions: skb programs run on a
 * packet received on the loopback device (socket filter and cgroup skb programs see it
 * from the network header, and their output gets a zeroed Ethernet header back, as
 * `bpf_prog_test_run_skb` returns it); xdp programs run on an xdp_buff with 256 bytes of
 * headroom; other types run on their context bytes. `repeat` reruns on the same state.
 */
export function testRunProgram(rt: VmRuntime, prog: LoadedProgram, options: TestRunOptions = {}): TestRunResult {
  if (NO_TEST_RUN.has(prog.type)) throw new VmErrnoError('ENOTSUPP', `the kernel has no test run for program type ${prog.type}; use runOnContext or the SocketSimulation`);
  const repeat = Math.max(1, options.repeat ?? 1);
  const flags = options.flags ?? 0;
  const cpu = flags & TEST_RUN_ON_CPU ? (options.cpu ?? 0) : 0;
  if (cpu >= rt.cpus) throw new VmErrnoError('ENXIO', `cpu ${cpu} does not exist (the vm has ${rt.cpus})`);
  const cleanup: (() => void)[] = [];
  try {
    let input: RunInput;
    let output: () => { data: Uint8Array; ctx?: Uint8Array };
    const l2 = SKB_TYPES.get(prog.type);
    if (l2 !== undefined || prog.type === ProgType.XDP) {
      const data = options.data ?? new Uint8Array(0);
      if (data.length < ETH_HLEN) throw new VmErrnoError('EINVAL', `test run data is ${data.length} bytes; packet programs need at least an Ethernet header (14)`);
      if (l2 !== undefined) {
        // bpf_prog_test_run_skb refuses IP frames too short for their network header.
        const type = (data[12]! << 8) | data[13]!;
        const need = type === 0x0800 ? 20 : type === 0x86dd ? 40 : 0;
        if (data.length < ETH_HLEN + need) throw new VmErrnoError('EINVAL', `test run data is ${data.length} bytes; an ${need === 20 ? 'IPv4' : 'IPv6'} frame needs at least ${ETH_HLEN + need}`);
      }
      const pkt = new PacketBuffer(rt.memory, data);
      cleanup.push(() => pkt.release());
      if (prog.type === ProgType.XDP) {
        const ctx = new XdpContext(rt.memory, pkt);
        cleanup.push(() => rt.memory.remove(ctx.region));
        if (options.ctx !== undefined) {
          const v = new DataView(options.ctx.buffer, options.ctx.byteOffset, options.ctx.byteLength);
          if (options.ctx.length >= 16) ctx.ingressIfindex = v.getUint32(12, true) || ctx.ingressIfindex;
          if (options.ctx.length >= 20) ctx.rxQueueIndex = v.getUint32(16, true);
        }
        input = { args: [ctx.pointer], context: ctx, cpu };
        output = () => ({ data: pkt.buffer.slice(pkt.meta, pkt.end), ...(options.ctx !== undefined ? { ctx: ctx.userContext() } : {}) });
      } else {
        if (!l2) pkt.setBounds(pkt.data + ETH_HLEN, pkt.data + ETH_HLEN, pkt.end);
        if (prog.type === ProgType.SOCKET_FILTER || prog.type === ProgType.CGROUP_SKB) pkt.region.writable = false;
        const ctx = new SkBuffContext(rt.memory, pkt, prog.type, options.ctx);
        cleanup.push(() => rt.memory.remove(ctx.region));
        input = { args: [ctx.pointer], context: ctx, cpu, legacyPacket: { get bytes() { return pkt.bytes; } } };
        output = () => {
          const body = pkt.bytes;
          const data = new Uint8Array((l2 ? 0 : ETH_HLEN) + body.length);
          data.set(body, l2 ? 0 : ETH_HLEN);
          return { data, ...(options.ctx !== undefined ? { ctx: ctx.userContext() } : {}) };
        };
      }
    } else if (prog.type === ProgType.RAW_TRACEPOINT) {
      // bpf_prog_test_run_raw_tp: the arguments in ctx, nothing else (no data, ctx out or repeat).
      if (options.data !== undefined && options.data.length > 0) throw new VmErrnoError('EINVAL', 'a raw tracepoint test run takes no data, only its arguments in ctx');
      if (repeat > 1) throw new VmErrnoError('EINVAL', 'a raw tracepoint test run cannot repeat');
      const args = options.ctx ?? new Uint8Array(0);
      if (args.length > MAX_RAW_TP_ARGS * 8) throw new VmErrnoError('EINVAL', `raw tracepoint arguments are at most ${MAX_RAW_TP_ARGS * 8} bytes, not ${args.length}`);
      const ctx = new RawTracepointContext(rt.memory, args.slice());
      cleanup.push(() => rt.memory.remove(ctx.region));
      input = { args: [ctx.pointer], context: ctx, cpu };
      output = () => ({ data: new Uint8Array(0) });
    } else {
      const bytes = options.ctx?.slice() ?? new Uint8Array(0);
      const region = rt.memory.add(new Region('context', 'context', bytes, prog.type === ProgType.SYSCALL));
      cleanup.push(() => rt.memory.remove(region));
      input = { args: [{ lo: AddressSpace.lo(0), hi: region.hi }], cpu };
      output = () => ({ data: options.data?.slice() ?? new Uint8Array(0), ...(options.ctx !== undefined ? { ctx: bytes.slice() } : {}) });
    }
    const m = rt.machine;
    const start = clock();
    for (let i = 0; i < repeat; i++) m.runRaw(prog, input);
    const durationNs = Math.round(((clock() - start) * 1e6) / repeat);
    return { retval: m.lo[0]! >>> 0, durationNs, ...output() };
  } finally {
    for (const c of cleanup.reverse()) c();
  }
}
