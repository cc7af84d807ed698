/** `bpfkit conformance [DIR] [--backend vm|kernel] [--json]`: run bpf_conformance .data files. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from './main.js';
import { refusedLine, runConformanceTest, summaryLine, vmConformanceBackend, type ConformanceBackend, type ConformanceResult } from '../vm/conformance.js';

const help = `usage: bpfkit conformance [DIR|FILE.data ...] [--backend vm|kernel] [--json]

Runs bpf_conformance test files (*.data) and reports each as passed or failed, ending
with the line "N passed, M failed". No test is skipped.

  DIR             a directory of .data files, or .data files (default: ./tests)
  --backend vm    bpfkit's interpreter (default)
  --backend kernel  the Linux kernel: each program loaded once and run once with
                  BPF_PROG_TEST_RUN, r0 compared on the 32 bits the kernel reports.
                  Tests the kernel will not run (verifier rejections, callx, calls of
                  the suite's helper 5) are listed apart, as REFUSED; the summary counts
                  the tests it ran, plus a line "K refused by the kernel". Needs bpf().
  --kernel-type syscall  (default) a sleepable syscall program whose context is the
                  test's memory, so r1 points at it as the suite intends
  --kernel-type xdp  exactly as bpf_conformance's libbpf plugin: an XDP program with the
                  memory as its packet (r1 is then the xdp_md context, not the memory)
  --json          print the results as JSON instead of text

Exit status: 0 when every test that ran passed, 1 when any failed, 2 for a usage error.`;

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
  let kernelType = 'syscall';
  const paths: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--json') json = true;
    else if (a === '--backend') backendName = args[++i] ?? '';
    else if (a.startsWith('--backend=')) backendName = a.slice('--backend='.length);
    else if (a === '--kernel-type') kernelType = args[++i] ?? '';
    else if (a.startsWith('--kernel-type=')) kernelType = a.slice('--kernel-type='.length);
    else if (a.startsWith('-')) {
      process.stderr.write(`bpfkit conformance: unknown option ${a}\n\n${help}\n`);
      return 2;
    } else paths.push(a);
  }
  if (kernelType !== 'syscall' && kernelType !== 'xdp') {
    process.stderr.write(`bpfkit conformance: unknown --kernel-type "${kernelType}" (syscall or xdp)\n`);
    return 2;
  }
  if (backendName !== 'vm' && backendName !== 'kernel') {
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
  let backend: ConformanceBackend;
  if (backendName === 'kernel') {
    try {
      const { kernelConformanceBackend } = await import('../conformance/kernel-backend.js');
      backend = await kernelConformanceBackend(kernelType);
    } catch (e) {
      process.stderr.write(`bpfkit conformance: the kernel backend is unavailable: ${(e as Error).message}\n`);
      return 2;
    }
  } else {
    backend = vmConformanceBackend();
  }
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
  const ran = results.filter((r) => r.refused === undefined);
  const refused = results.filter((r) => r.refused !== undefined);
  if (json) {
    const failed = ran.filter((r) => !r.passed).length;
    process.stdout.write(JSON.stringify({ backend: backend.name, results, passed: ran.length - failed, failed, refused: refused.length }, null, 2) + '\n');
  } else {
    for (const r of ran) process.stdout.write(`${r.passed ? 'PASS' : 'FAIL'} ${r.name}${r.passed ? '' : `: ${r.detail.replace(/\s*\n\s*/g, ' | ')}`}\n`);
    if (refused.length > 0) {
      process.stdout.write(`\nrefused by the ${backend.name} (not counted as passed or failed):\n`);
      for (const r of refused) process.stdout.write(`REFUSED ${r.name} [${r.refused!.category}]: ${r.refused!.message}\n`);
    }
  }
  process.stdout.write(summaryLine(results) + '\n');
  const refusedText = refusedLine(results, backend.name);
  if (refusedText !== undefined) process.stdout.write(refusedText + '\n');
  return ran.every((r) => r.passed) ? 0 : 1;
}

export const command: Command = { summary: 'run bpf_conformance .data tests on a backend', help, run };
