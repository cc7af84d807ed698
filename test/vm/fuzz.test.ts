import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataFileProgram, parseDataFile } from '../../src/conformance/data-file.js';
import { decodeInstructions, encodeInstructions } from '../../src/isa/codec.js';
import { insn, type Instruction } from '../../src/isa/instruction.js';
import { isValidInstruction } from '../../src/isa/operation.js';
import { MapType } from '../../src/uapi/map-types.js';
import { ProgType } from '../../src/uapi/prog-types.js';
import { VmFault, VmLimitError, VmLoadError } from '../../src/vm/errors.js';
import { AddressSpace, Region } from '../../src/vm/memory.js';
import { VmRuntime } from '../../src/vm/runtime.js';
import { conformanceRoot } from '../support/clang.js';

/** xorshift32: deterministic randomness so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const INTERESTING = [0, 1, -1, 2, 4, 7, 8, 16, 31, 32, 63, 64, -8, -16, -512, 0x7fffffff, -0x80000000, 255, 4096];

/** Opcodes that are valid with some fields (found once, so generation rarely retries). */
const VALID_CODES = (() => {
  const codes: number[] = [];
  for (let c = 0; c < 256; c++) {
    const ok = [0, 1, 8, 16, 32, 64, 0x100].some((imm) => [0, 1, 8].some((off) => [0, 1].some((src) => isValidInstruction(insn(c, 1, src, off, imm, 0)))));
    if (ok) codes.push(c);
  }
  return codes;
})();

function randomInstruction(rand: () => number, index: number, length: number, maps: number[]): Instruction {
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  for (let tries = 0; tries < 100; tries++) {
    const code = pick(VALID_CODES);
    const small = () => (rand() < 0.5 ? pick(INTERESTING) : Math.floor(rand() * 64) - 32);
    const cls = code & 7;
    const isJump = cls === 5 || cls === 6;
    let imm = rand() < 0.3 ? 0 : small();
    if (code === 0x06 && rand() < 0.9) imm = Math.floor(rand() * (length + 1)) - index - 1;
    if (code === 0x85) imm = pick([1, 2, 3, 5, 6, 7, 8, 12, 14, 16, 25, 44, 87, 88, 89, 113, 130, 131, 132, 133, 181, 9999]);
    // Jumps mostly land inside the program (-index-1 reaches slot 0), sometimes just outside.
    const off = isJump ? Math.floor(rand() * (length + 1)) - index - 1 : rand() < 0.4 ? 0 : small();
    const i = insn(code, Math.floor(rand() * 11), rand() < 0.5 ? 0 : Math.floor(rand() * 11), off, imm, rand() < 0.5 ? 0 : small());
    if (code === 0x18 && rand() < 0.3) {
      i.src = 1;
      i.imm = pick(maps);
      i.imm2 = 0;
    }
    if (isValidInstruction(i)) return i;
  }
  return insn(0x95);
}

/** A runtime with maps, an input region and a canary region no pointer names. */
function world(tier: 'interpreter' | 'js') {
  const rt = new VmRuntime({ tier });
  const hash = rt.createMap({ name: 'h', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8, flags: 0 });
  const arr = rt.createMap({ name: 'a', type: MapType.ARRAY, keySize: 4, valueSize: 16, maxEntries: 4, flags: 0 });
  const ring = rt.createMap({ name: 'r', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 });
  const canary = rt.memory.add(new Region('memory', 'canary', new Uint8Array(256).fill(0xa5), true));
  const input = rt.memory.add(new Region('memory', 'input', new Uint8Array(64), true));
  return { rt, maps: [hash.fd, arr.fd, ring.fd], canary, input };
}

describe('fuzzed programs only ever fail with the vm typed errors, inside their regions, within their budget', () => {
  // The interpreter and the JavaScript tier run every program side by side and must agree.
  const worlds = [world('interpreter'), world('js')];
  const maps = worlds[0]!.maps;
  const outcomes = { loaded: 0, returned: 0, faulted: 0, limited: 0, refused: 0, compared: 0 };

  function runIn(w: ReturnType<typeof world>, program: Instruction[], type: number): string {
    let prog;
    try {
      prog = w.rt.load('fuzz', type, program);
    } catch (e) {
      if (!(e instanceof VmLoadError)) throw e;
      return 'refused';
    }
    try {
      return `returned ${w.rt.machine.run(prog, { args: [{ lo: AddressSpace.lo(0), hi: w.input.hi }, 64], budget: 5_000, mayGotoLoops: 100 })}`;
    } catch (e) {
      if (e instanceof VmFault) return `fault ${e.kind} at ${e.pc}`;
      if (e instanceof VmLimitError) return 'limit';
      throw e;
    } finally {
      w.rt.unload(prog);
      expect(w.canary.bytes.every((b) => b === 0xa5)).toBe(true);
    }
  }

  function runOne(program: Instruction[], type: number): void {
    const [a, b] = worlds.map((w) => runIn(w, program, type)) as [string, string];
    const kind = a.split(' ')[0]!;
    if (kind === 'refused') outcomes.refused++;
    else outcomes.loaded++;
    if (kind === 'returned') outcomes.returned++;
    if (kind === 'fault') outcomes.faulted++;
    if (kind === 'limit') outcomes.limited++;
    // Budgets count differently (instructions vs jumps), so only finished runs are compared.
    if (a !== 'limit' && b !== 'limit') {
      expect(b, `js tier vs interpreter on ${Buffer.from(encodeInstructions(program)).toString('hex')}`).toBe(a);
      outcomes.compared++;
    }
  }

  it('random programs', () => {
    const rand = rng(0xb9f);
    for (let n = 0; n < 800; n++) {
      const length = 1 + Math.floor(rand() * 24);
      const program: Instruction[] = [];
      for (let i = 0; i < length; i++) program.push(randomInstruction(rand, i, length, maps));
      if (rand() < 0.7) program.push(insn(0x95));
      runOne(program, rand() < 0.5 ? ProgType.XDP : ProgType.KPROBE);
    }
    expect(outcomes.loaded).toBeGreaterThan(400);
    expect(outcomes.returned).toBeGreaterThan(50);
    expect(outcomes.faulted).toBeGreaterThan(50);
    expect(outcomes.compared).toBeGreaterThan(300);
  });

  it('mutations of the conformance programs', () => {
    const dir = `${conformanceRoot}/tests`;
    const rand = rng(0x5eed);
    const programs = readdirSync(dir).filter((f) => f.endsWith('.data')).map((f) => dataFileProgram(parseDataFile(readFileSync(join(dir, f), 'utf8'))));
    for (let n = 0; n < 1000; n++) {
      const bytes = encodeInstructions(programs[n % programs.length]!);
      const flips = 1 + Math.floor(rand() * 3);
      for (let k = 0; k < flips; k++) bytes[Math.floor(rand() * bytes.length)]! ^= 1 << Math.floor(rand() * 8);
      let program: Instruction[];
      try {
        program = decodeInstructions(bytes, { strict: false });
      } catch {
        continue;
      }
      runOne(program, ProgType.XDP);
    }
    expect(outcomes.loaded).toBeGreaterThan(400);
  });
});
