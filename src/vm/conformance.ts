import { dataFileProgram, parseDataFile, type ConformanceDataFile } from '../conformance/data-file.js';
import type { Instruction } from '../isa/instruction.js';
import { VmFault, VmLimitError, VmLoadError } from './errors.js';
import type { HelperFn } from './helpers/helper.js';
import { AddressSpace, Region } from './memory.js';
import { VmRuntime } from './runtime.js';

/**
 * Runs bpf_conformance tests (`.data` files). Pure: it takes a file's text and returns
 * the outcome; reading directories is the CLI's business.
 *
 * A test passes when its program runs and returns the `-- result` value (compared as 64
 * bits), or, for a test with a non-empty `-- error`, when the backend refuses or faults
 * with a message containing that text. A file that does not parse or assemble fails:
 * the expected error of a test is about the runtime, never about the test file.
 */

/** Why a reference backend (the kernel) will not run a test at all. */
export type RefusalCategory = 'verifier' | 'callx' | 'helper';

/** What a backend did with one test program. */
export type BackendOutcome =
  /** `bits`: how many low bits of r0 the backend reports (the kernel's test run: 32); default 64. */
  | { kind: 'returned'; r0: bigint; bits?: 32 | 64 }
  | { kind: 'error'; message: string }
  /** The backend will not run this program (the kernel's verifier rejects it, ...): neither pass nor fail. */
  | { kind: 'refused'; category: RefusalCategory; message: string };

/** Something that can run a conformance program (the vm, or the kernel in src/conformance). */
export interface ConformanceBackend {
  readonly name: string;
  /** Run `program` on `mem` (the vm: r1 = the address of a copy of `mem`, r2 = its length). */
  run(program: Instruction[], mem: Uint8Array): BackendOutcome;
}

/** The outcome of one test file. */
export interface ConformanceResult {
  /** The file name (or whatever the caller named the test). */
  name: string;
  passed: boolean;
  /** Why it failed, or what it returned. */
  detail: string;
  /** Set when the backend would not run the test: it is then neither passed nor failed. */
  refused?: { category: RefusalCategory; message: string };
}

/** Instruction budget per test: generous for the suite's loops, small enough to stop a hang. */
const TEST_BUDGET = 1 << 26;

/**
 * Helper 5 as bpf_conformance defines it (uBPF's "unwind"): returns its argument, and a
 * return of 0 ends the program with r0 = 0. The suite's tests call it directly and
 * through `callx`.
 */
const unwind: HelperFn = (m) => {
  m.ret(m.lo[1]!, m.hi[1]!);
  if (m.lo[1] === 0 && m.hi[1] === 0) m.state.stopped = true;
};

/** The vm as a conformance backend: a fresh runtime per test, helper 5 bound. */
export function vmConformanceBackend(tier: 'interpreter' | 'js' = 'interpreter'): ConformanceBackend {
  const helpers = new Map<number, HelperFn>([[5, unwind]]);
  return {
    name: tier === 'js' ? 'vm-js' : 'vm',
    run(program, mem) {
      const rt = new VmRuntime({ tier });
      try {
        const prog = rt.load('conformance', 0, program, { helpers });
        const region = rt.memory.add(new Region('memory', 'test memory', mem.slice(), true));
        rt.machine.runRaw(prog, { args: [{ lo: AddressSpace.lo(0), hi: region.hi }, mem.length], budget: TEST_BUDGET });
        return { kind: 'returned', r0: (BigInt(rt.machine.hi[0]! >>> 0) << 32n) | BigInt(rt.machine.lo[0]! >>> 0) };
      } catch (e) {
        if (e instanceof VmFault || e instanceof VmLimitError || e instanceof VmLoadError) return { kind: 'error', message: e.message };
        throw e;
      } finally {
        rt.machine.dispose();
      }
    },
  };
}

/** Run one test file's text on a backend. Never throws for a bad file: it fails. */
export function runConformanceTest(name: string, text: string, backend: ConformanceBackend): ConformanceResult {
  let file: ConformanceDataFile;
  let program: Instruction[];
  try {
    file = parseDataFile(text);
    program = dataFileProgram(file);
  } catch (e) {
    return { name, passed: false, detail: `the test file is invalid: ${(e as Error).message}` };
  }
  const expectsError = file.error !== undefined;
  if (!expectsError && file.result === undefined) return { name, passed: false, detail: 'the test file has neither "-- result" nor "-- error"' };
  const outcome = backend.run(program, file.mem);
  if (outcome.kind === 'refused') {
    const note = expectsError ? ' (the test expects an error)' : '';
    return { name, passed: false, detail: `refused: ${outcome.message}${note}`, refused: { category: outcome.category, message: outcome.message } };
  }
  if (outcome.kind === 'error') {
    if (expectsError && file.error !== '' && outcome.message.includes(file.error!)) return { name, passed: true, detail: `failed as expected: ${outcome.message}` };
    return { name, passed: false, detail: expectsError && file.error !== '' ? `expected error "${file.error}", got: ${outcome.message}` : outcome.message };
  }
  if (expectsError) return { name, passed: false, detail: `expected an error${file.error ? ` ("${file.error}")` : ''}, but the program returned ${hex(outcome.r0)}` };
  // A backend that reports fewer bits of r0 (the kernel: 32) is compared on those bits.
  const expected = outcome.bits === 32 ? file.result! & 0xffffffffn : file.result!;
  const width = outcome.bits === 32 ? ' (low 32 bits)' : '';
  if (outcome.r0 !== expected) return { name, passed: false, detail: `returned ${hex(outcome.r0)}, expected ${hex(expected)}${width}` };
  return { name, passed: true, detail: `returned ${hex(outcome.r0)}` };
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/** The closing line of a conformance run, over the tests the backend ran (refused ones aside). */
export function summaryLine(results: readonly ConformanceResult[]): string {
  const ran = results.filter((r) => r.refused === undefined);
  const passed = ran.filter((r) => r.passed).length;
  return `${passed} passed, ${ran.length - passed} failed`;
}

/** `K refused by the kernel`-style line, or undefined when the backend refused nothing. */
export function refusedLine(results: readonly ConformanceResult[], backend: string): string | undefined {
  const refused = results.filter((r) => r.refused !== undefined).length;
  return refused === 0 ? undefined : `${refused} refused by the ${backend}`;
}
