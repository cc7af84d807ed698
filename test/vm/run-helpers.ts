/** Test support: load builder-written programs into a fresh runtime and run them. */
import type { Instruction } from '../../src/isa/instruction.js';
import type { HelperFn } from '../../src/vm/helpers/helper.js';
import type { RunInput } from '../../src/vm/interpreter.js';
import { VmRuntime } from '../../src/vm/runtime.js';

/** The tier runProgram uses (tests of both tiers set it). */
export const settings: { tier: 'interpreter' | 'js' } = { tier: 'interpreter' };

/** One runtime per tier, reused: programs are unloaded after their run. */
const shared = { interpreter: new VmRuntime({ tier: 'interpreter' }), js: new VmRuntime({ tier: 'js' }) };

export function runProgram(insns: Instruction[], input: RunInput = {}, helpers?: Map<number, HelperFn>, runtime = shared[settings.tier]): bigint {
  const prog = runtime.load('test', 1, insns, helpers ? { helpers } : {});
  try {
    return runtime.machine.run(prog, input);
  } finally {
    runtime.unload(prog);
  }
}

/** r0 as a signed 64-bit value. */
export function runSigned(insns: Instruction[], input: RunInput = {}): bigint {
  return BigInt.asIntN(64, runProgram(insns, input));
}
