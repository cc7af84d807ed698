/** `bpfkit conformance [DIR] [--backend vm|kernel] [--json]`: run bpf_conformance .data files. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from './main.js';
import { runConformanceTest, summaryLine, vmConformanceBackend, type ConformanceResult } from '../vm/conformance.js';

const help = `usage: bpfkit conformance [DIR|FILE.data ...] [--backend vm|kernel] [--json]

Runs bpf_conformance test files (*.data) and reports each as passed or failed, ending
with the line "N passed, M failed". No test is skipped.

  DIR             a directory of .data files, or .data files (default: ./tests)
  --backend vm    bpfkit's interpreter (default)
  --backend kernel  the Linux kernel through BPF_PROG_TEST_RUN (not yet available)
  --json          print the results as JSON instead of text

Exit status: 0 when every test passed, 1 when any failed, 2 for a usage error.`;

function collect(paths: string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    if (statSync(abs).isDirectory()) {
      for (const f of readdirSync(abs).sort()) if (f.endsWith('.data')) files.push(join(abs, f));
    } else {
      files.push(abs);
    }
  }
  return files;
}

async function run(args: string[]): Promise<number> {
  let backendName = 'vm';
  let json = false;
  const paths: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--json') json = true;
    else if (a === '--backend') backendName = args[++i] ?? '';
    else if (a.startsWith('--backend=')) backendName = a.slice('--backend='.length);
    else if (a.startsWith('-')) {
      process.stderr.write(`bpfkit conformance: unknown option ${a}\n\n${help}\n`);
      return 2;
    } else paths.push(a);
  }
  if (backendName === 'kernel') {
    process.stderr.write('bpfkit conformance: the kernel backend is not yet available for conformance runs; use --backend vm\n');
    return 2;
  }
  if (backendName !== 'vm') {
    process.stderr.write(`bpfkit conformance: unknown backend "${backendName}" (vm or kernel)\n`);
    return 2;
  }
  let files: string[];
  try {
    files = collect(paths.length > 0 ? paths : ['tests']);
  } catch (e) {
    process.stderr.write(`bpfkit conformance: ${(e as Error).message}\n`);
    return 2;
  }
  const backend = vmConformanceBackend();
  const results: ConformanceResult[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      results.push({ name: basename(f), passed: false, detail: `cannot read: ${(e as Error).message}` });
      continue;
    }
    results.push(runConformanceTest(basename(f), text, backend));
  }
  if (json) {
    process.stdout.write(JSON.stringify({ backend: backend.name, results, passed: results.filter((r) => r.passed).length, failed: results.filter((r) => !r.passed).length }, null, 2) + '\n');
  } else {
    for (const r of results) process.stdout.write(`${r.passed ? 'PASS' : 'FAIL'} ${r.name}${r.passed ? '' : `: ${r.detail.replace(/\s*\n\s*/g, ' | ')}`}\n`);
  }
  process.stdout.write(summaryLine(results) + '\n');
  return results.every((r) => r.passed) ? 0 : 1;
}

export const command: Command = { summary: 'run bpf_conformance .data tests on a backend', help, run };
