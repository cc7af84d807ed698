/**
 * Mutated BTF and BTF.ext (seeded, thousands of cases): every entry point either works
 * or throws a BtfError naming the part and offset. Never another exception, a hang (the
 * test would time out), or output out of proportion to the input.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Btf } from '../../src/btf/btf.js';
import { dumpC } from '../../src/btf/c-dump.js';
import { applyCoreRelocations, CoreTarget } from '../../src/btf/core/index.js';
import { BtfError } from '../../src/btf/errors.js';
import { parseBtfExt } from '../../src/btf/ext.js';
import { dumpRaw } from '../../src/btf/raw-dump.js';
import { dumpTs } from '../../src/btf/ts-dump.js';
import { decodeInstructions } from '../../src/isa/codec.js';
import { compileBpf } from '../support/clang.js';
import { btfOf, dumpSection, prng, VMLINUX } from './support.js';
import { StringTable } from '../../src/btf/strings.js';
import { readFileSync } from 'node:fs';

/** Fixed so failures reproduce; FUZZ_SEED=n explores further. */
const SEED = Number(process.env.FUZZ_SEED ?? 0);

const INTERESTING = [0, 1, 2, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0x0d000000, 0x84000001, 0x13000000];

/** Mutate a copy of `input`: byte flips, u32 overwrites with edge values, truncation, splices. */
function mutate(input: Uint8Array, rnd: () => number): Uint8Array {
  const out = input.slice();
  const pick = (n: number) => Math.floor(rnd() * n);
  const edits = 1 + pick(4);
  for (let e = 0; e < edits; e++) {
    const op = pick(10);
    const at = pick(out.length);
    if (op < 4) {
      out[at] = pick(256);
    } else if (op < 8) {
      // Aligned u32 fields are where ids, offsets, sizes and info words live.
      const a = (at & ~3) + (rnd() < 0.2 ? 24 % 4 : 0);
      const v = rnd() < 0.7 ? INTERESTING[pick(INTERESTING.length)]! : Math.floor(rnd() * 0x100000000);
      new DataView(out.buffer, out.byteOffset).setUint32(Math.min(a, out.length - 4), v >>> 0, true);
    } else if (op === 8) {
      return out.subarray(0, at);
    } else {
      const from = pick(out.length);
      const len = Math.min(1 + pick(24), out.length - Math.max(at, from));
      out.copyWithin(at, from, from + len);
    }
  }
  return out;
}

/** Run `f`; a BtfError is fine (and must name a part), anything else fails the test. */
function onlyBtfErrors(f: () => void, what: string): 'ok' | 'error' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof BtfError) {
      expect(e.part, what).toMatch(/\w/);
      return 'error';
    }
    throw new Error(`${what}: ${(e as Error).stack ?? e}`);
  }
}

/** Everything a user may do with parsed BTF. */
function exercise(btf: Btf, inputLength: number): void {
  const encoded = btf.encode();
  expect(encoded.length).toBeLessThanOrEqual(inputLength + 64);
  const again = Btf.parse(encoded);
  expect(again.typeCount).toBe(btf.typeCount);
  dumpRaw(btf);
  onlyBtfErrors(() => dumpC(btf), 'dumpC');
  onlyBtfErrors(() => dumpTs(btf), 'dumpTs');
  for (let id = 0; id < btf.typeCount; id++) {
    onlyBtfErrors(() => btf.sizeof(id), 'sizeof');
    onlyBtfErrors(() => btf.alignof(id), 'alignof');
    onlyBtfErrors(() => btf.resolve(id), 'resolve');
    const t = btf.typeById(id);
    if ((t.kind === 'struct' || t.kind === 'union') && t.members[0]) onlyBtfErrors(() => btf.findMember(id, t.members[0]!.name), 'findMember');
  }
}

describe('fuzzing mutated BTF', () => {
  let sources: Array<{ name: string; btf: Uint8Array; ext: Uint8Array }>;
  beforeAll(() => {
    sources = [
      { cpu: 'v3' as const, bigEndian: false },
      { cpu: 'v4' as const, bigEndian: false },
      { cpu: 'v3' as const, bigEndian: true },
    ].map((o) => {
      const obj = compileBpf('test/fixtures/btf/kinds.c', o);
      return { name: `${o.cpu}${o.bigEndian ? '-be' : ''}`, btf: btfOf(obj).bytes, ext: dumpSection(obj, '.BTF.ext')! };
    });
  });

  it('parses, encodes and prints 3000 mutants with nothing but BtfErrors', () => {
    const rnd = prng(SEED ^ 0xb7f);
    const outcomes = { ok: 0, error: 0 };
    for (let i = 0; i < 3000; i++) {
      const src = sources[i % sources.length]!;
      const input = mutate(src.btf, rnd);
      let btf: Btf | undefined;
      const r = onlyBtfErrors(() => (btf = Btf.parse(input)), `case ${i} (${src.name}) parse`);
      outcomes[r]++;
      if (btf) exercise(btf, input.length);
    }
    // Both paths are exercised: many mutants are rejected, many still parse.
    expect(outcomes.ok).toBeGreaterThan(400);
    expect(outcomes.error).toBeGreaterThan(400);
  });

  it('parses 400 mutated split BTF blobs over vmlinux with nothing but BtfErrors', () => {
    const base = Btf.parse(new Uint8Array(readFileSync(VMLINUX)));
    const task = base.findByName('task_struct', 'struct')!;
    const n = base.typeCount;
    const split = new Btf({
      endian: base.endian,
      base,
      strings: new StringTable(new Uint8Array(0), base.strings),
      types: [
        { id: n, kind: 'ptr', name: '', nameOff: 0, kflag: false, type: task.id },
        { id: n + 1, kind: 'typedef', name: 'task_ptr_t', nameOff: -1, kflag: false, type: n },
        { id: n + 2, kind: 'struct', name: 'mod_s', nameOff: -1, kflag: false, size: 16, members: [
          { name: 't', nameOff: -1, type: n + 1, bitOffset: 0, bitfieldSize: 0 },
          { name: 'pid', nameOff: -1, type: task.members[0]!.type, bitOffset: 64, bitfieldSize: 0 },
        ] },
      ],
    }).encode();
    const rnd = prng(SEED ^ 0x5b1);
    const outcomes = { ok: 0, error: 0 };
    for (let i = 0; i < 400; i++) {
      let btf: Btf | undefined;
      outcomes[onlyBtfErrors(() => (btf = Btf.parse(mutate(split, rnd), { base })), `split case ${i}`)]++;
      if (btf) {
        expect(Btf.parse(btf.encode(), { base }).typeCount).toBe(btf.typeCount);
        // The printers walk the whole base (130k types) per call: a sample is enough.
        if (i % 10 === 0) onlyBtfErrors(() => dumpC(btf!, [n + 2]), `split case ${i} dumpC`);
        if (i % 10 === 5) onlyBtfErrors(() => dumpTs(btf!, { rootIds: [n + 2] }), `split case ${i} dumpTs`);
      }
    }
    expect(outcomes.ok).toBeGreaterThan(50);
    expect(outcomes.error).toBeGreaterThan(50);
  });

  it('parses 3000 mutated .BTF.ext sections with nothing but BtfErrors', () => {
    const rnd = prng(SEED ^ 0xe87);
    const outcomes = { ok: 0, error: 0 };
    for (let i = 0; i < 3000; i++) {
      const src = sources[i % sources.length]!;
      const btf = Btf.parse(src.btf);
      outcomes[onlyBtfErrors(() => parseBtfExt(mutate(src.ext, rnd), btf), `ext case ${i}`)]++;
    }
    expect(outcomes.ok).toBeGreaterThan(300);
    expect(outcomes.error).toBeGreaterThan(300);
  });

  it('relocates 1500 mutated CO-RE programs: failures are reported per relocation, never thrown', () => {
    const targetObj = compileBpf('test/fixtures/btf/core-target.c', { cpu: 'v3', clang: 'clang-19' });
    const obj = compileBpf('test/fixtures/btf/core-local.c', { cpu: 'v3', clang: 'clang-19' });
    const target = new CoreTarget(Btf.parse(btfOf(targetObj).bytes));
    const localBytes = btfOf(obj).bytes;
    const extBytes = dumpSection(obj, '.BTF.ext')!;
    const insns = decodeInstructions(dumpSection(obj, 'raw_tp/sys_enter')!);
    const rnd = prng(SEED ^ 0xc0de);
    let reported = 0;
    for (let i = 0; i < 1500; i++) {
      let local: Btf | undefined;
      // Mutate either the local BTF or the relocation records.
      const mutateBtf = i % 2 === 0;
      if (onlyBtfErrors(() => (local = Btf.parse(mutateBtf ? mutate(localBytes, rnd) : localBytes)), `core case ${i} parse`) !== 'ok') continue;
      let relos: ReturnType<typeof parseBtfExt>['coreRelos'] | undefined;
      if (onlyBtfErrors(() => (relos = parseBtfExt(mutateBtf ? extBytes : mutate(extBytes, rnd), local!).coreRelos), `core case ${i} ext`) !== 'ok') continue;
      for (const list of relos!.values()) {
        onlyBtfErrors(() => {
          const { results } = applyCoreRelocations(insns, list, local!, target);
          reported += results.filter((r) => r.status === 'failed').length;
        }, `core case ${i} apply`);
      }
    }
    expect(reported).toBeGreaterThan(0);
  });
});
