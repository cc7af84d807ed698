/**
 * Cross-checks every syscall layout in src/kernel against the C definitions in the
 * installed UAPI header (/usr/include/linux/bpf.h), compiled with the system C compiler.
 * Members newer than that header are skipped here; the kernel tests exercise them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allAttrLayouts } from '../../src/kernel/bpf-attr.js';
import { allInfoLayouts } from '../../src/kernel/bpf-info.js';
import { allRecordLayouts } from '../../src/kernel/bpf-records.js';
import { PerfEventAttr } from '../../src/kernel/perf-event.js';
import { PerfMmapPage } from '../../src/kernel/perf-reader.js';
import type { StructLayout } from '../../src/kernel/layout.js';

const header = '/usr/include/linux/bpf.h';
// Under CI the header must be there (libbpf-dev/linux-libc-dev): missing, the test fails instead of skipping.
const haveHeader = process.env.CI === 'true' || existsSync(header);

interface Probe {
  label: string;
  expr: string;
  offset: number;
  size: number;
}

/** Line of probe.c (1-based) holding the first printf. */
const FIRST_PROBE_LINE = 7;

function probeProgram(list: Probe[]): string {
  return [
    '#include <stdio.h>',
    '#include <stddef.h>',
    '#include <linux/bpf.h>',
    '#include <linux/perf_event.h>',
    '#define SIZEOF_MEMBER(T, m) sizeof(((T *)0)->m)',
    'int main(void) {',
    ...list.map((p) => `  printf("%zu %zu\\n", offsetof(${p.expr}), SIZEOF_MEMBER(${p.expr}));`),
    '  return 0;',
    '}',
  ].join('\n');
}

function probes(layouts: StructLayout[], headerText: string): Probe[] {
  const out: Probe[] = [];
  for (const layout of layouts) {
    const isAttr = layout.name.startsWith('bpf_attr');
    const type = isAttr ? 'union bpf_attr' : `struct ${layout.name}`;
    for (const field of Object.values(layout.fields)) {
      if (field.cPath === '-') continue;
      const member = layout.cMember ? `${layout.cMember}.${field.cPath}` : field.cPath;
      // Skip members newer than the installed header (any path component it does not mention).
      if (!member.split('.').every((part) => new RegExp(`\\b${part}\\b`).test(headerText))) continue;
      out.push({
        label: `${layout.name}.${field.name}`,
        expr: `${type}, ${member}`,
        offset: field.offset,
        size: field.size,
      });
    }
  }
  return out;
}

describe.skipIf(!haveHeader)('syscall layouts match the UAPI header', () => {
  it('every field has the C offset and size', () => {
    const text = readFileSync(header, 'utf8') + readFileSync('/usr/include/linux/perf_event.h', 'utf8');
    const list = probes([...allAttrLayouts, ...allInfoLayouts, ...allRecordLayouts, PerfEventAttr, PerfMmapPage], text);
    expect(list.length).toBeGreaterThan(100);
    const dir = mkdtempSync(join(tmpdir(), 'bpfkit-layout-'));
    try {
      // Members newer than the installed header do not compile: drop those lines and retry.
      let kept = list;
      for (let attempt = 0; ; attempt++) {
        writeFileSync(join(dir, 'probe.c'), probeProgram(kept));
        try {
          execFileSync('cc', ['-o', join(dir, 'probe'), join(dir, 'probe.c')], { stdio: 'pipe' });
          break;
        } catch (error) {
          const stderr = String((error as { stderr?: Buffer }).stderr ?? '');
          const bad = new Set([...stderr.matchAll(/probe\.c:(\d+):\d+: error/g)].map((m) => Number(m[1]) - FIRST_PROBE_LINE));
          if (bad.size === 0 || attempt > 0) throw error;
          kept = kept.filter((_, i) => !bad.has(i));
        }
      }
      expect(kept.length).toBeGreaterThan(100);
      list.splice(0, list.length, ...kept);
      const output = execFileSync(join(dir, 'probe'), { encoding: 'utf8' });
      const actual = output.trim().split('\n').map((line) => line.split(' '));
      const mismatches = actual
        .map(([off, size], i) => ({ label: list[i]!.label, off: Number(off), size: Number(size), want: list[i]! }))
        .filter((a) => a.off !== a.want.offset || a.size !== a.want.size)
        .map((a) => `${a.label}: C has offset ${a.off} size ${a.size}, table has ${a.want.offset}/${a.want.size}`);
      expect(mismatches).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
