/**
 * Kernel text symbols from /proc/kallsyms (root sees real addresses; with kptr_restrict
 * in force everyone else sees zeros, reported here as "unknown").
 */
import { readFileSync } from 'node:fs';

/** Every text symbol (types T and t) with its address, in file order; undefined when addresses are hidden or unreadable. */
export function kernelTextSymbols(): Array<{ address: bigint; name: string }> | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/kallsyms', 'utf8');
  } catch {
    return undefined;
  }
  const out: Array<{ address: bigint; name: string }> = [];
  for (const line of text.split('\n')) {
    const [addr, type, name] = line.split(' ');
    if (!addr || !name || (type !== 'T' && type !== 't')) continue;
    const address = BigInt(`0x${addr}`);
    if (address === 0n) return undefined; // kptr_restrict: no addresses for us
    out.push({ address, name });
  }
  return out;
}

/** The address of kernel function `name` (the first one of that name), or undefined. */
export function kernelSymbolAddress(name: string): bigint | undefined {
  return kernelTextSymbols()?.find((s) => s.name === name)?.address;
}
