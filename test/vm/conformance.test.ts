import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runConformanceTest, summaryLine, vmConformanceBackend } from '../../src/vm/conformance.js';
import { conformanceRoot } from '../support/clang.js';

const root = conformanceRoot;
const dataFiles = (dir: string) => readdirSync(join(root, dir)).filter((f) => f.endsWith('.data')).sort();

describe('bpf_conformance on the vm', () => {
  const backend = vmConformanceBackend();

  it('passes every test in tests/, none skipped', () => {
    const files = dataFiles('tests');
    expect(files.length).toBe(313);
    const results = files.map((f) => runConformanceTest(f, readFileSync(join(root, 'tests', f), 'utf8'), backend));
    const failed = results.filter((r) => !r.passed).map((r) => `${r.name}: ${r.detail}`);
    expect(failed).toEqual([]);
    expect(summaryLine(results)).toBe('313 passed, 0 failed');
  });

  it('passes every test with the JavaScript tier too', () => {
    const js = vmConformanceBackend('js');
    const failed = dataFiles('tests')
      .map((f) => runConformanceTest(f, readFileSync(join(root, 'tests', f), 'utf8'), js))
      .filter((r) => !r.passed)
      .map((r) => `${r.name}: ${r.detail}`);
    expect(failed).toEqual([]);
  });

  it('reports every file in negative/ as failed', () => {
    const files = dataFiles('negative');
    expect(files.length).toBeGreaterThan(50);
    const results = files.map((f) => runConformanceTest(f, readFileSync(join(root, 'negative', f), 'utf8'), backend));
    expect(results.filter((r) => r.passed).map((r) => r.name)).toEqual([]);
  });

  it('compares the whole 64-bit result', () => {
    const text = '-- asm\nlddw %r0, 0x100000001\nexit\n-- result\n0x1\n';
    expect(runConformanceTest('t', text, backend)).toMatchObject({ passed: false });
    expect(runConformanceTest('t', text.replace('0x1\n', '0x100000001\n'), backend)).toMatchObject({ passed: true });
  });

  it('passes an expected runtime error only when the message contains the expected text', () => {
    const text = '-- asm\nldxdw %r0, [%r1+8]\nexit\n-- mem\n00 01\n-- error\noutside test memory\n';
    expect(runConformanceTest('t', text, backend)).toMatchObject({ passed: true });
    expect(runConformanceTest('t', text.replace('outside test memory', 'something else'), backend)).toMatchObject({ passed: false });
  });
});
