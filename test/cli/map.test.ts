/** `bpfkit map` against bpftool, on maps this test creates and pins in its own bpffs directory. */
import { describe, expect, it } from 'vitest';
import { parseBytes } from '../../src/cli/map.js';
import { createMap } from '../../src/kernel/map-create.js';
import { possibleCpus } from '../../src/kernel/cpus.js';
import { describeKernel } from '../kernel/support.js';
import { bpfkit, bpfkitJson, bpftool, pinDir, pinned } from './support.js';

/** bpftool's ["0x01", "0x00"] as "01 00". */
const hex = (bytes: string[]) => bytes.map((b) => b.slice(2)).join(' ');

describe('map byte arguments', () => {
  it('reads bytes as bpftool takes them', () => {
    expect([...parseBytes(['hex', '01', '00', 'ff', '7f'], 'key')]).toEqual([1, 0, 255, 127]);
    expect([...parseBytes(['hex', '0100ff7f'], 'key')]).toEqual([1, 0, 255, 127]);
    expect([...parseBytes(['1 0 0x10 255'], 'key')]).toEqual([1, 0, 16, 255]);
    expect([...parseBytes([], 'key')]).toEqual([]);
    expect(() => parseBytes(['256'], 'key')).toThrow(/"256" is not a byte/);
    expect(() => parseBytes(['ff'], 'key')).toThrow(/prefix hex bytes with the word "hex"/);
    expect(() => parseBytes(['hex', 'zz'], 'value')).toThrow(/value: "zz" is not hex/);
  });
});

describeKernel('bpfkit map, judged by bpftool', () => {
  /** A hash map (u32 -> u64) and a per-CPU array, pinned in a directory of their own. */
  function scratchMaps() {
    const dir = pinDir('map');
    using hash = createMap({ type: 'HASH', name: 'cli_hash', keySize: 4, valueSize: 8, maxEntries: 8 });
    using percpu = createMap({ type: 'PERCPU_ARRAY', name: 'cli_pcpu', valueSize: 4, maxEntries: 2 });
    hash.pin(pinned(dir, 'hash'));
    percpu.pin(pinned(dir, 'pcpu'));
    return { dir, hash: pinned(dir, 'hash'), percpu: pinned(dir, 'pcpu'), hashId: hash.info().id, percpuId: percpu.info().id };
  }

  it('has --help and refuses bad usage with exit code 2', async () => {
    expect((await bpfkit('map', '--help')).stdout).toMatch(/^usage: bpfkit map list \[--json\]/);
    for (const args of [['map'], ['map', 'list', 'x'], ['map', 'dump'], ['map', 'lookup', '1', 'key', 'zz'], ['map', 'update', '1', '--flags', 'sometimes']]) {
      const r = await bpfkit(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/usage: bpfkit map/);
    }
  });

  it('list and show agree with bpftool map show', async () => {
    const m = scratchMaps();
    try {
      const list = await bpfkitJson<Array<Record<string, unknown>>>('map', 'list');
      for (const id of [m.hashId, m.percpuId]) {
        const judge = bpftool('map', 'show', 'id', String(id));
        const expected = { id: judge.id, type: judge.type, name: judge.name, keySize: judge.bytes_key, valueSize: judge.bytes_value, maxEntries: judge.max_entries, flags: judge.flags };
        expect(list.find((l) => l.id === id)).toMatchObject(expected);
        expect(await bpfkitJson('map', 'show', String(id))).toMatchObject(expected);
      }
      expect((await bpfkitJson('map', 'show', 'pinned', m.hash)).id).toBe(m.hashId);
      const text = await bpfkit('map', 'list');
      expect(text.stdout).toMatch(new RegExp(`^${m.hashId}\\s+hash\\s+cli_hash\\s+4\\s+8\\s+8\\s+0$`, 'm'));
    } finally {
      m.dir.remove();
    }
  });

  it('update, lookup, dump and delete: bpftool reads what bpfkit wrote and the other way round', async () => {
    const m = scratchMaps();
    try {
      expect((await bpfkit('map', 'update', m.hash, 'key', 'hex', '01', '00', '00', '00', 'value', 'hex', '2a', '00', '00', '00', '00', '00', '00', '00')).code).toBe(0);
      // No key/value words: the first 4 bytes (the key size) are the key.
      expect((await bpfkit('map', 'update', String(m.hashId), '2 0 0 0', '7 0 0 0 0 0 0 1')).code).toBe(0);
      execBpftool('map', 'update', 'pinned', m.hash, 'key', '3', '0', '0', '0', 'value', '9', '0', '0', '0', '0', '0', '0', '0');

      expect(await bpfkitJson('map', 'lookup', m.hash, 'key', '3', '0', '0', '0')).toEqual([{ key: '03 00 00 00', value: '09 00 00 00 00 00 00 00' }]);
      const judge = bpftool<Array<{ key: string[]; value: string[] }>>('map', 'dump', 'pinned', m.hash);
      const mine = await bpfkitJson<Array<{ key: string; value: string }>>('map', 'dump', m.hash);
      expect(mine).toEqual(judge.map((e) => ({ key: hex(e.key), value: hex(e.value) })));
      expect(mine.length).toBe(3);
      const text = await bpfkit('map', 'dump', m.hash);
      expect(text.stdout).toMatch(/^KEY\s+VALUE$/m);
      expect(text.stdout).toMatch(/^01 00 00 00 {2}2a 00 00 00 00 00 00 00$/m);
      expect(text.stdout).toMatch(/^\(3 entries\)$/m);

      expect((await bpfkit('map', 'delete', m.hash, 'key', '2', '0', '0', '0')).code).toBe(0);
      expect(bpftool<unknown[]>('map', 'dump', 'pinned', m.hash).length).toBe(2);
      const again = await bpfkit('map', 'delete', m.hash, 'key', '2', '0', '0', '0');
      expect(again).toMatchObject({ code: 1, stderr: 'bpfkit map: map cli_hash: no entry with key 02 00 00 00\n' });
    } finally {
      m.dir.remove();
    }
  });

  it('--flags noexist and exist fail as the kernel says', async () => {
    const m = scratchMaps();
    try {
      const set = (flags: string, key: string) => bpfkit('map', 'update', m.hash, 'key', key, '0', '0', '0', 'value', '1', '0', '0', '0', '0', '0', '0', '0', '--flags', flags);
      expect((await set('noexist', '1')).code).toBe(0);
      const exists = await set('noexist', '1');
      expect(exists.code).toBe(1);
      expect(exists.stderr).toMatch(/EEXIST/);
      const absent = await set('exist', '5');
      expect(absent.code).toBe(1);
      expect(absent.stderr).toMatch(/ENOENT/);
      expect((await set('exist', '1')).code).toBe(0);
      const short = await bpfkit('map', 'update', m.hash, 'key', '1', '0', 'value', '1');
      expect(short.code).toBe(2);
      expect(short.stderr).toMatch(/the key of map cli_hash is 4 bytes, 2 given/);
    } finally {
      m.dir.remove();
    }
  });

  it('per-CPU values: one row per CPU, as bpftool dumps them', async () => {
    const m = scratchMaps();
    const cpus = possibleCpus();
    try {
      // One value: stored on every CPU.
      expect((await bpfkit('map', 'update', m.percpu, 'key', '1', '0', '0', '0', 'value', 'hex', '05000000')).code).toBe(0);
      // One value per CPU.
      const each = Array.from({ length: cpus }, (_, cpu) => `${cpu + 10} 0 0 0`);
      expect((await bpfkit('map', 'update', m.percpu, 'key', '0', '0', '0', '0', 'value', ...each)).code).toBe(0);
      const judge = bpftool<Array<{ key: string[]; values: Array<{ cpu: number; value: string[] }> }>>('map', 'dump', 'pinned', m.percpu);
      const mine = await bpfkitJson('map', 'dump', m.percpu);
      expect(mine).toEqual(judge.map((e) => ({ key: hex(e.key), values: e.values.map((v) => ({ cpu: v.cpu, value: hex(v.value) })) })));
      expect(mine[1].values.every((v: { value: string }) => v.value === '05 00 00 00')).toBe(true);
      expect(mine[0].values.map((v: { value: string }) => v.value)).toEqual(Array.from({ length: cpus }, (_, cpu) => `${(cpu + 10).toString(16).padStart(2, '0')} 00 00 00`));
      const text = await bpfkit('map', 'lookup', m.percpu, '1', '0', '0', '0');
      expect(text.stdout.split('\n')[0]).toMatch(/^KEY\s+CPU\s+VALUE$/);
      expect(text.stdout.split('\n').filter((l) => / 05 00 00 00$/.test(l)).length).toBe(cpus);
      const wrong = await bpfkit('map', 'update', m.percpu, 'key', '1', '0', '0', '0', 'value', '1', '2');
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toMatch(/per-CPU map cli_pcpu is 4 bytes/);
    } finally {
      m.dir.remove();
    }
  });

  it('pin pins by id; errors for unknown ids, programs and missing pins', async () => {
    const m = scratchMaps();
    try {
      expect((await bpfkit('map', 'pin', String(m.hashId), pinned(m.dir, 'again'))).code).toBe(0);
      expect(bpftool('map', 'show', 'pinned', pinned(m.dir, 'again')).id).toBe(m.hashId);
      expect(await bpfkit('map', 'dump', '4294967295')).toMatchObject({ code: 1, stderr: 'bpfkit map: no map with id 4294967295\n' });
      expect(await bpfkit('map', 'show', pinned(m.dir, 'none'))).toMatchObject({ code: 1, stderr: `bpfkit map: nothing is pinned at ${pinned(m.dir, 'none')}\n` });
    } finally {
      m.dir.remove();
    }
  });
});

function execBpftool(...args: string[]): void {
  bpftool(...args);
}
