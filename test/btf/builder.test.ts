import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BtfBuilder } from '../../src/btf/builder.js';
import { BtfError } from '../../src/btf/errors.js';
import { bpfUsable, libbpfJudge } from './judge.js';
import { bpftoolDumpC } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'bpfkit-btf-builder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('BtfBuilder', () => {
  it('builds BTF the kernel loads and bpftool prints', () => {
    const b = new BtfBuilder();
    const u32 = b.int('unsigned int', 4);
    const int = b.int('int', 4, true);
    const u8 = b.int('unsigned char', 1);
    const idx = b.int('__ARRAY_SIZE_TYPE__', 4);
    const name = b.array(u8, 16, idx);
    const value = b.struct('value', 24, [
      { name: 'count', type: u32, bitOffset: 0 },
      { name: 'flags', type: u32, bitOffset: 32, bitfieldSize: 3 },
      { name: 'name', type: name, bitOffset: 64 },
    ]);
    b.typedef('value_t', b.ptr(value));
    b.add({ kind: 'enum', name: 'state', size: 4, values: [{ name: 'ON', value: 1 }, { name: 'OFF', value: -1 }] });
    b.add({ kind: 'func_proto', name: '', type: int, params: [{ name: 'v', type: b.nextId - 2 }] });
    const btf = b.build();
    expect(btf.typeOfKind(value, 'struct').kflag).toBe(true);
    const file = join(dir, 'built.btf');
    writeFileSync(file, btf.encode());
    if (bpfUsable()) expect(spawnSync(libbpfJudge(), ['btf-load', file], { encoding: 'utf8' }).stdout.trim()).toBe('ok');
    const c = bpftoolDumpC(file);
    expect(c).toContain('typedef struct value *value_t;');
    expect(c).toContain('\tunsigned int flags: 3;');
    expect(c).toContain('\tOFF = -1,');
  });

  it('refuses a reference to a type it does not have', () => {
    const b = new BtfBuilder();
    b.ptr(7);
    expect(() => b.build()).toThrow(BtfError);
  });
});
