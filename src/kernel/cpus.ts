/** CPUs the kernel may bring up, which size per-CPU map values and perf rings. */
import { readFileSync } from 'node:fs';

let cached: number | undefined;

/** Parse a kernel CPU list such as "0-3,8,10-11" into the count of CPUs it names. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [lo, hi] = part.split('-').map(Number);
    if (!Number.isInteger(lo) || (hi !== undefined && !Number.isInteger(hi))) throw new Error(`bad CPU list "${text}"`);
    for (let c = lo!; c <= (hi ?? lo!); c++) out.push(c);
  }
  return out;
}

/**
 * Number of possible CPUs (/sys/devices/system/cpu/possible): per-CPU maps hold one value
 * slot for each, numbered 0..n-1 (the list is always 0-based and contiguous in practice,
 * and the kernel sizes per-CPU values by the highest possible CPU + 1).
 */
export function possibleCpus(): number {
  if (cached === undefined) {
    const cpus = parseCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8'));
    cached = Math.max(...cpus) + 1;
  }
  return cached;
}
