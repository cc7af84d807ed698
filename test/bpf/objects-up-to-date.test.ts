import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { haveClang, inCI, repoRoot } from '../support/clang.js';

function objectsUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? objectsUnder(p) : p.endsWith('.o') ? [p] : [];
  });
}

// The shipped objects are committed so users need no clang; CI proves they match their sources.
describe.skipIf(!inCI && !haveClang())('bpf/ committed objects', () => {
  const out = mkdtempSync(join(tmpdir(), 'bpfkit-objs-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('are exactly what scripts/build-bpf.sh builds from the sources', () => {
    execFileSync('bash', [join(repoRoot, 'scripts/build-bpf.sh'), out], { stdio: 'pipe' });
    const built = objectsUnder(out).map((p) => relative(out, p)).sort();
    const committed = objectsUnder(join(repoRoot, 'bpf')).map((p) => relative(join(repoRoot, 'bpf'), p)).sort();
    expect(committed).toEqual(built);
    for (const rel of built) {
      const same = Buffer.compare(readFileSync(join(out, rel)), readFileSync(join(repoRoot, 'bpf', rel))) === 0;
      expect(same, `bpf/${rel} is stale: run npm run build:bpf and commit`).toBe(true);
    }
  });
});
