/** `bpfkit object inspect`: text and JSON output, and bad input. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileBpf, run } from '../support/clang.js';
import { libbpfView } from './libbpf-oracle.js';
import { objdump } from './objdump.js';
import { bpfkit } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'bpfkit-object-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const path = compileBpf('test/fixtures/elf/programs.c', { cpu: 'v3' });

describe('bpfkit object inspect', () => {
  it('has --help', async () => {
    const r = await bpfkit('object', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: bpfkit object inspect FILE\.o \[--json\]/);
  });

  it('refuses bad usage', async () => {
    expect((await bpfkit('object')).code).toBe(2);
    expect((await bpfkit('object', 'list', path)).code).toBe(2);
    expect((await bpfkit('object', 'inspect')).code).toBe(2);
    expect((await bpfkit('object', 'inspect', '--bogus', path)).code).toBe(2);
  });

  it('prints JSON whose programs and maps agree with libbpf and llvm-objdump', async () => {
    const r = await bpfkit('object', 'inspect', path, '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    const libbpf = libbpfView(path);
    expect(s.programs.map((p: { name: string; section: string }) => [p.name, p.section])).toEqual(libbpf.programs.map((p) => [p.program, p.section]));
    const dump = objdump(path);
    const xdp = s.programs.find((p: { name: string }) => p.name === 'frags_prog');
    expect(xdp.instructions).toBe(dump.get('xdp.frags')!.length);
    expect(xdp.type).toBe('xdp');
    expect(xdp.attachType).toBe('xdp');
    const counts = s.maps.find((m: { name: string }) => m.name === 'counts');
    const lib = libbpf.maps.find((m) => m.map === 'counts')!;
    expect([counts.type, counts.keySize, counts.valueSize, counts.maxEntries, counts.flags, counts.pinning]).toEqual([
      'hash',
      lib.key,
      lib.value,
      lib.max,
      lib.flags,
      lib.pinned ? 'by_name' : 'none',
    ]);
    // The BTF summary counts what bpftool lists.
    const btf = JSON.parse(run('bpftool', ['btf', 'dump', 'file', path, '-j'])) as { types: unknown[] };
    expect(s.btf.types).toBe(btf.types.length);
    expect(s.license).toBe('Dual BSD/GPL');
  });

  it('prints text tables naming every program, map and variable', async () => {
    const r = await bpfkit('object', 'inspect', path);
    expect(r.code).toBe(0);
    const json = JSON.parse((await bpfkit('object', 'inspect', path, '--json')).stdout);
    for (const p of json.programs) expect(r.stdout).toMatch(new RegExp(`^  ${p.name} +${p.section.replace(/[.]/g, '\\.')} `, 'm'));
    for (const m of json.maps) expect(r.stdout).toContain(`  ${m.name} `);
    for (const v of json.variables) expect(r.stdout).toContain(`  ${v.name} `);
    expect(r.stdout).toMatch(/^BTF: \d+ types in \d+ bytes/m);
    // Initialisers of the prog array and the map of maps, as the fixture writes them.
    expect(r.stdout).toContain('  jumps[2] = tail_b');
    expect(r.stdout).toContain('  outer[5] = inner_b');
  });

  it('loads unknown sections with --program-type, by number or name', async () => {
    const unknown = compileBpf('test/fixtures/elf/unknown_section.c', { cpu: 'v3' });
    const refused = await bpfkit('object', 'inspect', unknown);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/my_custom_hook/);
    for (const t of ['1', 'socket_filter']) {
      const r = await bpfkit('object', 'inspect', unknown, '--json', '--program-type', t);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).programs[0].type).toBe('socket_filter');
    }
    expect((await bpfkit('object', 'inspect', unknown, '--program-type', 'bogus')).code).toBe(2);
  });

  it('reports unreadable, truncated and non-BPF files with exit code 1', async () => {
    expect((await bpfkit('object', 'inspect', join(dir, 'missing.o'))).code).toBe(1);
    const cut = join(dir, 'cut.o');
    writeFileSync(cut, readFileSync(path).subarray(0, 200));
    const r = await bpfkit('object', 'inspect', cut);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cut\.o: .*offset/);
    const host = await bpfkit('object', 'inspect', '/bin/true');
    expect(host.code).toBe(1);
    expect(host.stderr).toMatch(/not BPF/);
  });
});
