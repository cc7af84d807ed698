import type { Machine } from '../interpreter.js';
import { joinBigInt } from '../memory.js';
import type { HelperFn } from './helper.js';

function cString(m: Machine, lo: number, hi: number): string {
  const r = m.memory.regionOf(hi);
  if (r === undefined || r.context !== null) return '(efault)';
  const start = (lo >>> 0) - 0x1000_0000;
  if (start < 0 || start >= r.size) return '(efault)';
  let end = start;
  while (end < r.size && r.bytes[end] !== 0) end++;
  return new TextDecoder().decode(r.bytes.subarray(start, end));
}

/**
 * Format as the kernel's bpf_trace_printk does: %d %i %u %x %X %c %s %p %% with the l,
 * ll and h/z modifiers, at most three arguments.
 */
export function formatPrintk(m: Machine, fmt: string, argRegs: number[]): string {
  let arg = 0;
  return fmt.replace(/%([-0-9]*)(ll|l|h|hh|z)?([diuxXcsp%])/g, (whole, width: string, mod: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    const r = argRegs[arg++];
    if (r === undefined) return whole;
    const lo = m.lo[r]!;
    const hi = m.hi[r]!;
    const wide = mod === 'l' || mod === 'll' || mod === 'z';
    const u = wide ? joinBigInt(lo, hi) : BigInt(lo >>> 0);
    let s: string;
    switch (conv) {
      case 'd':
      case 'i':
        s = (wide ? BigInt.asIntN(64, u) : BigInt(lo | 0)).toString();
        break;
      case 'u':
        s = u.toString();
        break;
      case 'x':
        s = u.toString(16);
        break;
      case 'X':
        s = u.toString(16).toUpperCase();
        break;
      case 'c':
        s = String.fromCharCode(lo & 0xff);
        break;
      case 's':
        s = cString(m, lo, hi);
        break;
      default:
        s = `0x${joinBigInt(lo, hi).toString(16)}`;
    }
    const w = parseInt(width || '0', 10);
    return width.startsWith('-') ? s.padEnd(-w) : width.startsWith('0') ? s.padStart(w, '0') : s.padStart(w);
  });
}

/** bpf_trace_printk(fmt, fmt_size, a, b, c): appends a line to the environment's trace log. */
export const tracePrintk: HelperFn = (m) => {
  const size = m.lo[2]! >>> 0;
  const bytes = m.argBytes(1, size, false);
  const nul = bytes.indexOf(0);
  if (nul < 0) return m.retNumber(-22);
  const fmt = new TextDecoder().decode(bytes.subarray(0, nul));
  // The kernel refuses formats with more conversions than its three arguments.
  if ((fmt.replace(/%%/g, '').match(/%/g) ?? []).length > 3) return m.retNumber(-22);
  const text = formatPrintk(m, fmt, [3, 4, 5]);
  m.runtime.env.traceLog.push(text.endsWith('\n') ? text.slice(0, -1) : text);
  m.retNumber(new TextEncoder().encode(text).length);
};
