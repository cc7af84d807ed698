/** Hand-made malformed BTF: each defect becomes a BtfError naming the part and offset. */
import { describe, expect, it } from 'vitest';
import { Btf } from '../../src/btf/btf.js';
import { dumpC } from '../../src/btf/c-dump.js';
import { BtfError } from '../../src/btf/errors.js';
import { StringTable } from '../../src/btf/strings.js';
import type { BtfType } from '../../src/btf/types.js';

const INT: BtfType = { id: 1, kind: 'int', name: 'int', nameOff: -1, kflag: false, size: 4, encoding: 1, bitOffset: 0, bits: 32 };

/** Encode types without validation (the encoder trusts its input; the parser must not). */
function blob(types: BtfType[]): Uint8Array {
  return new Btf({ endian: 'little', types, strings: new StringTable(new Uint8Array([0])) }).encode();
}

function parseError(bytes: Uint8Array): BtfError {
  try {
    Btf.parse(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(BtfError);
    return e as BtfError;
  }
  throw new Error('parsed without error');
}

describe('malformed BTF', () => {
  it('a reference to a type id that does not exist', () => {
    const e = parseError(blob([INT, { id: 2, kind: 'ptr', name: '', nameOff: 0, kflag: false, type: 999 }]));
    expect(e).toMatchObject({ part: 'types', offset: 2 });
    expect(e.message).toContain('refers to type id 999');
  });

  it('a name offset outside the string table', () => {
    const bytes = blob([INT]);
    new DataView(bytes.buffer).setUint32(24, 0x00ffffff, true); // name_off of type [1]
    const e = parseError(bytes);
    expect(e).toMatchObject({ part: 'types', offset: 24 });
    expect(e.message).toContain('name offset 16777215');
  });

  it('reference cycles C cannot express', () => {
    const typedefLoop = parseError(
      blob([
        INT,
        { id: 2, kind: 'typedef', name: 'a', nameOff: -1, kflag: false, type: 3 },
        { id: 3, kind: 'const', name: '', nameOff: 0, kflag: false, type: 2 },
      ]),
    );
    expect(typedefLoop.message).toMatch(/reference cycle .* without a pointer/);
    const pointerLoop = parseError(blob([INT, { id: 2, kind: 'ptr', name: '', nameOff: 0, kflag: false, type: 2 }]));
    expect(pointerLoop.message).toMatch(/reference cycle .* without a struct or union/);
    const selfContaining = parseError(
      blob([INT, { id: 2, kind: 'struct', name: 's', nameOff: -1, kflag: false, size: 4, members: [{ name: 'me', nameOff: -1, type: 2, bitOffset: 0, bitfieldSize: 0 }] }]),
    );
    expect(selfContaining.part).toBe('types');
    // A list node (cycle through a pointer and a struct) is fine.
    const ok = Btf.parse(
      blob([
        INT,
        { id: 2, kind: 'struct', name: 'node', nameOff: -1, kflag: false, size: 8, members: [{ name: 'next', nameOff: -1, type: 3, bitOffset: 0, bitfieldSize: 0 }] },
        { id: 3, kind: 'ptr', name: '', nameOff: 0, kflag: false, type: 2 },
      ]),
    );
    expect(dumpC(ok)).toContain('struct node *next;');
  });

  it('absurd counts and sizes', () => {
    const bytes = blob([INT, { id: 2, kind: 'struct', name: 's', nameOff: -1, kflag: false, size: 4, members: [] }]);
    new DataView(bytes.buffer).setUint32(24 + 16 + 4, (4 << 24) | 0xffff, true); // vlen 65535, no member data
    const e = parseError(bytes);
    expect(e.message).toMatch(/struct \[2\] members needs 786420 bytes/);
    const huge = Btf.parse(
      blob([
        INT,
        { id: 2, kind: 'struct', name: 'big', nameOff: -1, kflag: false, size: 0xffffffff, members: [] },
        { id: 3, kind: 'array', name: '', nameOff: 0, kflag: false, type: 2, indexType: 1, nelems: 0xffffffff },
      ]),
    );
    expect(() => huge.sizeof(3)).toThrow(/exceeds 4 GiB/);
    // bpftool would print half a billion padding lines; we stop at a budget.
    expect(() => dumpC(huge)).toThrow(BtfError);
  });

  it('truncation anywhere', () => {
    const bytes = blob([INT, { id: 2, kind: 'ptr', name: '', nameOff: 0, kflag: false, type: 1 }]);
    for (let n = 0; n < bytes.length; n++) {
      const e = parseError(bytes.subarray(0, n));
      expect(['header', 'types', 'strings']).toContain(e.part);
    }
  });

  it('ids beyond the last type in lookups', () => {
    const btf = Btf.parse(blob([INT]));
    expect(() => btf.typeById(2)).toThrow(/no type with id 2/);
    expect(() => btf.typeById(-1)).toThrow(BtfError);
    expect(() => btf.stringAt(1000)).toThrow(/string offset 1000/);
  });
});
