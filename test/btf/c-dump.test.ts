import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Btf } from '../../src/btf/btf.js';
import { dumpC } from '../../src/btf/c-dump.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { compileBpf, repoRoot } from '../support/clang.js';
import { bpftoolDumpC, btfOf, VMLINUX } from './support.js';

const FIXTURE = 'test/fixtures/btf/kinds.c';

/** The eBPF objects committed under bpf/ (bpfkit's shipped programs). */
function committedObjects(): string[] {
  const files = execFileSync('git', ['ls-files', 'bpf/*.o', 'bpf/**/*.o'], { cwd: repoRoot, encoding: 'utf8' }).split('\n').filter(Boolean);
  return [...new Set(files)];
}

describe('C printer matches bpftool btf dump format c', () => {
  it.each([
    { name: 'clang 14', cpu: 'v3' as const, bigEndian: false },
    { name: 'clang-19', cpu: 'v4' as const, bigEndian: false },
    { name: 'clang 14 big-endian', cpu: 'v3' as const, bigEndian: true },
  ])('for the $name fixture', ({ cpu, bigEndian }) => {
    const { path, bytes } = btfOf(compileBpf(FIXTURE, { cpu, bigEndian }));
    const ours = dumpC(Btf.parse(bytes));
    expect(ours).toBe(bpftoolDumpC(path));
    // Not vacuous: the fixture exercises bitfields, packing, padding, function pointers.
    expect(ours).toContain('__attribute__((packed))');
    expect(ours).toContain('long: 64;');
    expect(ours).toContain('int (*ops[2])(void);');
  });

  it.each(committedObjects())('for the shipped object %s', (rel) => {
    const { path, bytes } = btfOf(join(repoRoot, rel));
    expect(dumpC(Btf.parse(bytes))).toBe(bpftoolDumpC(path));
  });

  it('for the whole of /sys/kernel/btf/vmlinux', () => {
    const btf = Btf.parse(new Uint8Array(readFileSync(VMLINUX)));
    const ours = dumpC(btf);
    const reference = bpftoolDumpC(VMLINUX);
    // Compare line by line first so a failure shows the first differing line, not 5 MB.
    const a = ours.split('\n');
    const b = reference.split('\n');
    const first = a.findIndex((l, i) => l !== b[i]);
    expect(first === -1 ? null : { line: first + 1, ours: a[first], bpftool: b[first] }).toBeNull();
    expect(a.length).toBe(b.length);
    expect(ours).toContain('___2'); // name deduplication is exercised

  });
});
