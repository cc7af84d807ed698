/**
 * The README's examples are real: its TypeScript blocks are exactly the files in
 * examples/, and those files run (the vm one always, the kernel one where bpf() works
 * and always under CI).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/clang.js';
import { describeKernel } from './kernel/support.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const examples = readdirSync(join(repoRoot, 'examples')).filter((f) => f.endsWith('.ts'));

function runExample(name: string): string {
  return execFileSync(process.execPath, ['--import', 'tsx', join('examples', name)], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('README', () => {
  it('quotes every example file verbatim', () => {
    expect(examples.length).toBeGreaterThan(0);
    for (const name of examples) {
      const code = readFileSync(join(repoRoot, 'examples', name), 'utf8').trimEnd();
      expect(readme.includes('```ts\n' + code + '\n```'), `README.md must contain examples/${name} verbatim`).toBe(true);
    }
  });

  it('opens with what bpfkit is, then the two set-up commands', () => {
    const blocks = [...readme.matchAll(/```sh\n([^`]+)```/g)].map((m) => m[1]!.trim());
    expect(readme.indexOf('eBPF for TypeScript')).toBeLessThan(readme.indexOf('```'));
    expect(blocks[0]).toMatch(/^bash scripts\/setup-machine\.sh && npm ci && npx bpfkit /);
    expect(blocks[1]).toBe('bash scripts/setup-machine.sh && npm ci && npm test');
  });

  it('runs the vm example', () => {
    const out = runExample('vm-run.ts');
    expect(out).toContain('verdict: XDP_PASS');
    expect(out).toContain('UDP packets counted: 3n');
  });
});

describeKernel('README kernel example', () => {
  it('runs, and its map and events agree', () => {
    const out = runExample('kernel-everyday.ts');
    const count = Number(/called getppid\(\) (\d+) times/.exec(out)?.[1]);
    expect(count).toBeGreaterThanOrEqual(100);
    const events = /events: ([\d ]*)/.exec(out)![1]!.trim().split(' ').map(Number);
    expect(events).toEqual(Array.from({ length: Math.floor(count / 10) }, (_, i) => (i + 1) * 10));
  });

  it('runs the typed example: BTF-decoded map values and events', () => {
    const out = runExample('kernel-typed.ts');
    const count = Number(/: (\d+) calls/.exec(out)?.[1]);
    expect(count).toBeGreaterThanOrEqual(3);
    expect(out).toContain('after reset: 0');
    expect(JSON.parse(/events: (\[.*\])/.exec(out)![1]!)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  });
});
