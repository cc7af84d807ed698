import { decodeText } from './byte-reader.js';
import { ByteReader } from './byte-reader.js';
import type { ElfFile } from './elf-file.js';
import { sectionByName } from './elf-file.js';
import { ElfError } from './errors.js';
import { addressToFileOffset } from './uprobe.js';

/** One USDT probe from `.note.stapsdt` (systemtap SDT v3 notes, as sys/sdt.h emits). */
export interface UsdtNote {
  provider: string;
  name: string;
  /** Argument specification, e.g. "-4@%edi 8@%rsi". */
  args: string;
  /**
   * Address of the probe site, adjusted by the `.stapsdt.base` section's load address
   * (prelink may have moved the file since the note was written).
   */
  pc: number;
  /** The base address recorded in the note. */
  base: number;
  /** Address of the semaphore (0 when the probe has none). */
  semaphore: number;
  /** File offset of the probe site (what a uprobe attaches to), when a PT_LOAD covers it. */
  pcOffset?: number;
  /** File offset of the semaphore, when it has one and a PT_LOAD covers it. */
  semaphoreOffset?: number;
}

const NT_STAPSDT = 3;

/**
 * The USDT probes of an executable or shared library, in note order. Empty when the file
 * has no `.note.stapsdt`. The pc adjustment follows libbpf: `pc += .stapsdt.base's
 * sh_addr - note base` when both are set.
 *
 * @throws ElfError naming the note and its offset when a note is truncated.
 */
export function usdtNotes(elf: ElfFile): UsdtNote[] {
  const section = sectionByName(elf, '.note.stapsdt');
  if (!section) return [];
  const baseSection = sectionByName(elf, '.stapsdt.base');
  const r = new ByteReader(section.data, elf.header.endian === 'little');
  const out: UsdtNote[] = [];
  let at = 0;
  while (at + 12 <= section.data.length) {
    const part = `USDT note in .note.stapsdt`;
    const fileOffset = section.offset + at;
    const nameSize = r.u32(at);
    const descSize = r.u32(at + 4);
    const type = r.u32(at + 8);
    const nameStart = at + 12;
    const descStart = nameStart + align4(nameSize);
    const next = descStart + align4(descSize);
    if (next > section.data.length) {
      throw new ElfError(`note of ${nameSize}+${descSize} bytes runs past the ${section.data.length}-byte section`, part, fileOffset);
    }
    at = next;
    const owner = decodeText(section.data, nameStart, nameStart + Math.max(0, nameSize - 1));
    if (owner !== 'stapsdt' || type !== NT_STAPSDT) continue;
    if (descSize < 24) throw new ElfError(`stapsdt note description is ${descSize} bytes, shorter than its three addresses`, part, fileOffset);
    const loc = r.u64(descStart);
    const base = r.u64(descStart + 8);
    const semaphore = r.u64(descStart + 16);
    const strings: string[] = [];
    let s = descStart + 24;
    const end = descStart + descSize;
    for (let k = 0; k < 3; k++) {
      const nul = section.data.indexOf(0, s);
      if (nul < 0 || nul >= end) throw new ElfError('stapsdt note strings are not NUL-terminated', part, fileOffset);
      strings.push(decodeText(section.data, s, nul));
      s = nul + 1;
    }
    const pc = baseSection && base !== 0 ? loc + (baseSection.addr - base) : loc;
    const note: UsdtNote = { provider: strings[0]!, name: strings[1]!, args: strings[2]!, pc, base, semaphore };
    const pcOffset = addressToFileOffset(elf, pc);
    if (pcOffset !== undefined) note.pcOffset = pcOffset;
    if (semaphore !== 0) {
      const semOffset = addressToFileOffset(elf, semaphore);
      if (semOffset !== undefined) note.semaphoreOffset = semOffset;
    }
    out.push(note);
  }
  return out;
}

function align4(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}
