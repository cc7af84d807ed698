import { INSN_SIZE } from '../opcodes.js';

const ADDRESS_MASK = (1n << 64n) - 1n;

/**
 * Finds the `<symbol>` / `<symbol+0xN>` annotation that llvm-objdump prints after a
 * jump, the way llvm-objdump 19 chooses it (measured, see test/isa/disasm-llvm.test.ts):
 * the symbol with the greatest address at or below the target, where addresses are
 * unsigned 64-bit byte offsets into the section, so a jump before the section start
 * wraps around to a huge address and is annotated relative to the last symbol
 * (`<f+0xfffffffffffffff0>`). When `sectionName` is given and no symbol sits at
 * offset 0, the section's name stands there, as llvm-objdump adds a symbol named
 * after each section.
 */
export class JumpTargetNamer {
  /** Symbols sorted by address: [byte address, name]. */
  private readonly sorted: Array<[bigint, string]>;

  constructor(symbols: ReadonlyMap<number, string> | undefined, sectionName?: string) {
    const entries = new Map<number, string>(symbols ?? []);
    if (sectionName !== undefined && !entries.has(0)) entries.set(0, sectionName);
    this.sorted = [...entries]
      .filter(([slot]) => Number.isInteger(slot) && slot >= 0)
      .map(([slot, name]): [bigint, string] => [BigInt(slot) * BigInt(INSN_SIZE), name])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** Are there any symbols at all? Without them, jumps get no annotation. */
  get empty(): boolean {
    return this.sorted.length === 0;
  }

  /**
   * The annotation for a jump at `slot` that skips `distance` slots (relative to the
   * next instruction): `<name>`, `<name+0x10>`, or undefined when no symbol lies at
   * or below the target.
   */
  annotate(slot: number, distance: number): string | undefined {
    const target = (BigInt(slot + 1 + distance) * BigInt(INSN_SIZE)) & ADDRESS_MASK;
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]![0] <= target) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return undefined;
    const [address, name] = this.sorted[lo - 1]!;
    return address === target ? `<${name}>` : `<${name}+0x${(target - address).toString(16)}>`;
  }
}
