import { ReadOnlyByteContext } from '../contexts/read-only-bytes.js';
import { Errno } from '../errors.js';
import { countTailCall, type Machine } from '../interpreter.js';
import { ProgArrayMap } from '../maps/fd-maps.js';
import { joinBigInt } from '../memory.js';
import type { HelperFn } from './helper.js';
import { argMap } from './map-helpers.js';

export const ktimeGetNs: HelperFn = (m) => m.retNumber(m.runtime.env.nowNs());
export const getPrandomU32: HelperFn = (m) => m.ret(m.runtime.env.randomU32() | 0, 0);
export const getSmpProcessorId: HelperFn = (m) => m.ret(m.state.cpu, 0);
export const getNumaNodeId: HelperFn = (m) => m.ret(0, 0);

export const getCurrentPidTgid: HelperFn = (m) => m.ret(m.runtime.env.task.pid, m.runtime.env.task.tgid);
export const getCurrentUidGid: HelperFn = (m) => m.ret(m.runtime.env.task.uid, m.runtime.env.task.gid);

/** bpf_get_current_comm(buf, size): the NUL-terminated name, truncated to size. */
export const getCurrentComm: HelperFn = (m) => {
  const size = m.lo[2]! >>> 0;
  const buf = m.argBytes(1, size, true);
  buf.fill(0);
  const name = new TextEncoder().encode(m.runtime.env.task.comm.slice(0, 15));
  buf.set(name.subarray(0, Math.max(0, size - 1)));
  m.ret(0, 0);
};

/** bpf_tail_call(ctx, prog_array, index): on success does not return; on failure falls through. */
export const tailCall: HelperFn = (m) => {
  const map = argMap(m, 2);
  if (!(map instanceof ProgArrayMap)) return m.fault('invalid_helper_call', `bpf_tail_call needs a prog array, not map ${map.name}`);
  const target = map.at(m.lo[3]! >>> 0);
  if (target === undefined || !countTailCall(m)) return;
  m.state.tailTarget = target;
};

/** bpf_loop(nr_loops, callback, ctx, flags): calls callback(i, ctx) until it returns 1. */
export const loop: HelperFn = (m) => {
  const nr = m.lo[1]! >>> 0;
  if (m.lo[4] !== 0 || m.hi[4] !== 0) return m.retNumber(-Errno.EINVAL);
  if (nr > 1 << 23) return m.retNumber(-Errno.E2BIG);
  const fn = m.argPointer(2);
  const ctx = m.argPointer(3);
  const out = new Int32Array(2);
  let i = 0;
  while (i < nr) {
    m.callFunction(fn, [{ lo: i, hi: 0 }, ctx], out);
    i++;
    if (out[0] === 1) break;
  }
  m.retNumber(i);
};

/** bpf_spin_lock / unlock: one program runs at a time in a vm runtime, so the lock is only checked. */
export const spinLock: HelperFn = (m) => {
  m.argBytes(1, 4, true);
  m.ret(0, 0);
};

function findProbe(m: Machine, addr: bigint, size: number, user: boolean): Uint8Array | undefined {
  // Addresses in the vm's own regions are readable too (a program may probe its own
  // pointers), and so are tracing contexts, which are kernel memory the program's direct
  // loads are merely restricted in (a tracepoint's common fields, say).
  const lo = Number(addr & 0xffffffffn) | 0;
  const hi = Number(addr >> 32n) | 0;
  const r = m.memory.regionOf(hi);
  if (r !== undefined && (r.context === null || r.context instanceof ReadOnlyByteContext)) {
    const o = (lo >>> 0) - 0x1000_0000;
    if (o >= 0 && o + size <= r.size) return r.bytes.subarray(o, o + size);
    if (o >= 0 && o < r.size && size < 0) return r.bytes.subarray(o);
    return undefined;
  }
  for (const block of user ? m.runtime.env.userMemory : m.runtime.env.kernelMemory) {
    const o = addr - block.address;
    if (o >= 0n && o < BigInt(block.bytes.length)) {
      const off = Number(o);
      if (size < 0) return block.bytes.subarray(off);
      if (off + size <= block.bytes.length) return block.bytes.subarray(off, off + size);
    }
  }
  return undefined;
}

/** bpf_probe_read_kernel/user(dst, size, unsafe_ptr): 0, or -EFAULT with dst zeroed. */
export function probeRead(user: boolean): HelperFn {
  return (m) => {
    const size = m.lo[2]! >>> 0;
    const dst = m.argBytes(1, size, true);
    const src = findProbe(m, joinBigInt(m.lo[3]!, m.hi[3]!), size, user);
    if (src === undefined) {
      dst.fill(0);
      return m.retNumber(-Errno.EFAULT);
    }
    dst.set(src);
    m.ret(0, 0);
  };
}

/** bpf_probe_read_kernel/user_str(dst, size, unsafe_ptr): bytes copied including the NUL, or -EFAULT. */
export function probeReadStr(user: boolean): HelperFn {
  return (m) => {
    const size = m.lo[2]! >>> 0;
    const dst = m.argBytes(1, size, true);
    if (size === 0) return m.ret(0, 0);
    const src = findProbe(m, joinBigInt(m.lo[3]!, m.hi[3]!), -1, user);
    if (src === undefined) {
      dst.fill(0);
      return m.retNumber(-Errno.EFAULT);
    }
    let n = 0;
    while (n < size - 1 && n < src.length && src[n] !== 0) {
      dst[n] = src[n]!;
      n++;
    }
    dst[n] = 0;
    m.retNumber(n + 1);
  };
}
