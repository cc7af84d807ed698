import { afterEach, describe, expect, it, vi } from 'vitest';
import { command } from '../../src/cli/conformance.js';
import { conformanceRoot } from '../support/clang.js';

const root = conformanceRoot;

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  const code = await command.run(args);
  vi.restoreAllMocks();
  return { code, out, err };
}

describe('bpfkit conformance', () => {
  afterEach(() => vi.restoreAllMocks());

  it('runs a directory on the vm and ends with "N passed, M failed"', async () => {
    const r = await run([`${root}/tests`]);
    expect(r.code).toBe(0);
    expect(r.out.trimEnd().split('\n').at(-1)).toBe('313 passed, 0 failed');
  });

  it('reports the negatives as failed, with a non-zero status', async () => {
    const r = await run([`${root}/negative`, '--backend', 'vm']);
    expect(r.code).toBe(1);
    expect(r.out.trimEnd().split('\n').at(-1)).toMatch(/^0 passed, [1-9][0-9]* failed$/);
  });

  it('--json gives per-file results, then the summary line', async () => {
    const r = await run([`${root}/tests/add.data`, `${root}/negative/error.data`, '--json']);
    const lines = r.out.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('1 passed, 1 failed');
    const json = JSON.parse(lines.slice(0, -1).join('\n'));
    expect(json.results.map((x: { name: string; passed: boolean }) => [x.name, x.passed])).toEqual([
      ['add.data', true],
      ['error.data', false],
    ]);
  });

  it('an unknown --kernel-type is a usage error', async () => {
    const r = await run([`${root}/tests`, '--backend', 'kernel', '--kernel-type', 'tc']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown --kernel-type "tc"/);
  });
});
