/**
 * The bpf_conformance suite through the real kernel (BPF_PROG_TEST_RUN): every test the
 * kernel accepts must pass, and what it refuses must be exactly the tests that are not
 * meant for it. Needs bpf(); under CI=true it must run.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { command } from '../../src/cli/conformance.js';
import { kernelConformanceBackend, verifierErrorLine } from '../../src/conformance/kernel-backend.js';
import { runConformanceTest, summaryLine, type ConformanceResult } from '../../src/vm/conformance.js';
import { describeKernel } from '../kernel/support.js';
import { conformanceRoot } from '../support/clang.js';

const root = conformanceRoot;
const files = readdirSync(join(root, 'tests')).filter((f) => f.endsWith('.data')).sort();
const text = (f: string) => readFileSync(join(root, 'tests', f), 'utf8');

/** Immediate shifts by a negative amount or by at least the operand width: the verifier rejects them ("invalid shift"). */
const SHIFT_OUT_OF_RANGE = /^(arsh|lsh|rsh)(32|64)-imm-(high|neg)\.data$/;

describeKernel('bpf_conformance on the kernel', () => {
  afterEach(() => vi.restoreAllMocks());

  it('every test the kernel runs passes; the refused ones are the expected categories', async () => {
    const backend = await kernelConformanceBackend('syscall');
    const results = files.map((f) => runConformanceTest(f, text(f), backend));
    expect(results.length).toBe(313);
    const failed = results.filter((r) => r.refused === undefined && !r.passed).map((r) => `${r.name}: ${r.detail}`);
    expect(failed).toEqual([]);

    const refused = results.filter((r): r is ConformanceResult & { refused: NonNullable<ConformanceResult['refused']> } => r.refused !== undefined);
    const byName = Object.fromEntries(refused.map((r) => [r.name, `${r.refused.category}: ${r.refused.message}`]));
    // callx and the suite's helper 5 are not the kernel's.
    expect(byName['callx.data']).toBe("callx: callx (call through a register) is not part of the kernel's instruction set");
    expect(byName['call_unwind_fail.data']).toMatch(/^helper: calls helper 5/);
    // Verifier rejections: out-of-range immediate shifts, misaligned context accesses,
    // r2 (the suite's memory length, which the kernel does not set), and pointer arithmetic on r1.
    const shifts = files.filter((f) => SHIFT_OUT_OF_RANGE.test(f));
    expect(shifts.length).toBe(12);
    for (const f of shifts) expect(byName[f]).toMatch(/^verifier: invalid shift -?\d+$/);
    for (const f of ['ldxw.data', 'ldxdw.data', 'stw.data', 'stdw.data', 'stxw.data', 'stxdw.data']) {
      expect(byName[f]).toMatch(/^verifier: invalid bpf_context access off=2 size=[48]$/);
    }
    expect(byName['mem-len.data']).toBe('verifier: R2 !read_ok');
    expect(byName['subnet.data']).toMatch(/^verifier: dereference of modified ctx ptr R1/);
    expect(Object.keys(byName).sort()).toEqual(
      ['callx.data', 'call_unwind_fail.data', 'mem-len.data', 'subnet.data', ...shifts, 'ldxw.data', 'ldxdw.data', 'stw.data', 'stdw.data', 'stxw.data', 'stxdw.data'].sort(),
    );
    expect(summaryLine(results)).toBe('291 passed, 0 failed');
  });

  it('the CLI lists refused tests apart and ends with the counts', async () => {
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
    const code = await command.run([`${root}/tests`, '--backend', 'kernel']);
    vi.restoreAllMocks();
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines.slice(-2)).toEqual(['291 passed, 0 failed', '22 refused by the kernel']);
    expect(lines).toContain('REFUSED mem-len.data [verifier]: R2 !read_ok');
    expect(lines.filter((l) => l.startsWith('REFUSED ')).length).toBe(22);
  });

  it("--kernel-type xdp runs as the suite's libbpf plugin: r1 is the xdp_md context", async () => {
    const backend = await kernelConformanceBackend('xdp');
    // A memory test whose load of r1 the verifier refuses as a context access...
    const ldxb = runConformanceTest('ldxb.data', text('ldxb.data'), backend);
    expect(ldxb.refused?.message).toMatch(/^invalid bpf_context access off=\d+ size=1$/);
    // ...and a test that never touches memory, which passes.
    expect(runConformanceTest('add.data', text('add.data'), backend)).toMatchObject({ passed: true });
  });
});

it('verifierErrorLine skips trace, state and statistics lines', () => {
  const log = ['func#0 @0', '0: R1=ctx() R10=fp0', '0: (bf) r0 = r2', 'R2 !read_ok', 'processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0', ''].join('\n');
  expect(verifierErrorLine(log)).toBe('R2 !read_ok');
  expect(verifierErrorLine('0: (b7) r0 = 1\nprocessed 1 insns')).toBeUndefined();
});
