/** `bpfkit btf dump` and the raw and TypeScript printers behind it. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Btf } from '../../src/btf/btf.js';
import { dumpRaw } from '../../src/btf/raw-dump.js';
import { dumpTs } from '../../src/btf/ts-dump.js';
import { StringTable } from '../../src/btf/strings.js';
import { compileBpf, repoRoot, run } from '../support/clang.js';
import { libbpfJudge } from './judge.js';
import { bpftoolDumpC, btfOf, VMLINUX } from './support.js';
import { bpfkit } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'bpfkit-btf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let vmlinux: Btf;
let obj: string;
beforeAll(() => {
  vmlinux = Btf.parse(new Uint8Array(readFileSync(VMLINUX)));
  obj = compileBpf('test/fixtures/btf/kinds.c', { cpu: 'v4' });
});

/** Type-check generated TypeScript with tsc (strict, no libraries beyond ES2022). */
function tscCheck(files: Record<string, string>): string {
  const sub = mkdtempSync(join(dir, 'tsc-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(sub, name), text);
  writeFileSync(
    join(sub, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'ES2022', types: [], lib: ['ES2022'] }, files: Object.keys(files) }),
  );
  try {
    return execFileSync(join(repoRoot, 'node_modules/.bin/tsc'), ['-p', sub], { encoding: 'utf8' });
  } catch (e) {
    return String((e as { stdout?: string }).stdout ?? e);
  }
}

describe('raw listing', () => {
  it('equals bpftool btf dump file for the fixture and for vmlinux', () => {
    const { path, bytes } = btfOf(obj);
    expect(dumpRaw(Btf.parse(bytes))).toBe(run('bpftool', ['btf', 'dump', 'file', path]));
    expect(dumpRaw(vmlinux)).toBe(run('bpftool', ['btf', 'dump', 'file', VMLINUX]));
  });
});

describe('TypeScript declarations', () => {
  it('type-check, and give the offsets bpftool gives', () => {
    const fixture = dumpTs(Btf.parse(btfOf(obj).bytes));
    const roots = ['task_struct', 'sk_buff', 'sock'].map((n) => vmlinux.findByName(n, 'struct')!.id);
    const kernel = dumpTs(vmlinux, { rootIds: roots });
    expect(tscCheck({ 'fixture.ts': fixture, 'kernel.ts': kernel })).toBe('');
    // Offsets in the comments are bpftool's bits_offset / 8, member by member.
    const raw = run('bpftool', ['btf', 'dump', 'file', VMLINUX]).split('\n');
    const start = raw.findIndex((l) => l.startsWith(`[${roots[1]}] STRUCT 'sk_buff'`));
    const iface = kernel.slice(kernel.indexOf('export interface sk_buff {'));
    const body = iface.slice(0, iface.indexOf('\n}\n'));
    const end = raw.findIndex((l, i) => i > start && !l.startsWith('\t'));
    const named = raw.slice(start + 1, end).filter((l) => !l.includes("'(anon)'"));
    expect(named.length).toBeGreaterThan(10);
    for (const line of named) {
      const m = /^\t'(\w+)' type_id=\d+ bits_offset=(\d+)( bitfield_size=(\d+))?/.exec(line)!;
      const offset = Number(m[2]);
      const comment = m[3] ? `bit offset ${offset} ` : `offset ${offset / 8}, `;
      expect(body, m[1]).toMatch(new RegExp(`/\\*\\* ${comment}[^\\n]*\\*/\\n  ${m[1]}: `));
    }
    expect(kernel).toMatch(/export const \w+ = \{\n  \w+: -?\d+,/);
    expect(fixture).toContain('BIG_B: 18446744073709551615n,');
  });

  it('covers the whole of vmlinux without failing', () => {
    const all = dumpTs(vmlinux);
    expect(all.split('export interface ').length).toBeGreaterThan(5000);
  });
});

describe('bpfkit btf dump', () => {
  it('has --help', async () => {
    const r = await bpfkit('btf', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: bpfkit btf dump FILE \[--format c\|ts\|raw\]/);
  });

  it('prints an object or a raw BTF file as bpftool does', async () => {
    const c = await bpfkit('btf', 'dump', obj);
    expect(c.code).toBe(0);
    expect(c.stdout).toBe(bpftoolDumpC(obj));
    const raw = await bpfkit('btf', 'dump', obj, '--format', 'raw');
    expect(raw.stdout).toBe(run('bpftool', ['btf', 'dump', 'file', obj]));
    const ts = await bpfkit('btf', 'dump', obj, '--format', 'ts', '--type', 'bits');
    expect(ts.stdout).toContain('export interface bits {');
    expect(ts.stdout).toContain('export type u32_alias_t = u32_t;');
  });

  it('prints one type with what it needs, as libbpf btf_dump__dump_type does', async () => {
    const id = vmlinux.findByName('sock_common', 'struct')!.id;
    const r = await bpfkit('btf', 'dump', VMLINUX, '--type', 'sock_common');
    expect(r.code).toBe(0);
    const alone = execFileSync(libbpfJudge(), ['dump-type', VMLINUX, String(id)], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const header = r.stdout.indexOf('#endif\n\n') + '#endif\n\n'.length;
    const footer = r.stdout.lastIndexOf('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX');
    expect(r.stdout.slice(header, footer)).toBe(alone);
    expect(alone).toContain('struct sock_common {');
  });

  it('reads module-style split BTF over a base, as bpftool -B does', async () => {
    const task = vmlinux.findByName('task_struct', 'struct')!;
    const split = new Btf({
      endian: vmlinux.endian,
      base: vmlinux,
      strings: new StringTable(new Uint8Array(0), vmlinux.strings),
      types: [
        { id: vmlinux.typeCount, kind: 'ptr', name: '', nameOff: 0, kflag: false, type: task.id },
        { id: vmlinux.typeCount + 1, kind: 'typedef', name: 'task_ptr_t', nameOff: -1, kflag: false, type: vmlinux.typeCount },
      ],
    });
    const file = join(dir, 'split.btf');
    writeFileSync(file, split.encode());
    const r = await bpfkit('btf', 'dump', file, '--base', VMLINUX, '--format', 'raw');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(run('bpftool', ['-B', VMLINUX, 'btf', 'dump', 'file', file]));
    const c = await bpfkit('btf', 'dump', file, '--base', VMLINUX);
    expect(c.stdout).toBe(run('bpftool', ['-B', VMLINUX, 'btf', 'dump', 'file', file, 'format', 'c']));
    expect(c.stdout).toContain('typedef struct task_struct *task_ptr_t;');
  });

  it('fails cleanly on bad input', async () => {
    const bad = join(dir, 'bad.btf');
    writeFileSync(bad, new Uint8Array([0x9f, 0xeb, 1, 0, 24, 0, 0, 0]));
    const r = await bpfkit('btf', 'dump', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/BTF header at offset 0/);
    expect((await bpfkit('btf', 'dump', join(dir, 'missing'))).code).toBe(1);
    expect((await bpfkit('btf', 'dump', obj, '--format', 'xml')).code).toBe(2);
    expect((await bpfkit('btf', 'list')).code).toBe(2);
    const none = await bpfkit('btf', 'dump', obj, '--type', 'no_such_type');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no type called "no_such_type"');
  });
});
