/**
 * bpf_conformance on the Linux kernel through BPF_PROG_TEST_RUN, loading each program
 * once and running it once.
 *
 * The suite's libbpf plugin loads the raw instructions as an XDP program (license "MIT")
 * with the test's memory as the packet. There r1 is the xdp_md context, not the memory,
 * so every test that reads its memory through r1 is either rejected by the verifier or
 * reads the context (le32/be32 then return the low bits of a kernel pointer). bpfkit's
 * default is therefore a BPF_PROG_TYPE_SYSCALL program (sleepable, as the kernel requires)
 * whose context *is* the test's memory: r1 points at it as the suite intends, the verifier
 * checks each access against the context, and test_run copies the memory in. `xdp`
 * reproduces the plugin exactly. In both r2 is not set, and the kernel reports only the
 * low 32 bits of r0.
 *
 * Not every test is meant for the kernel, and the kernel is the reference, so what it
 * will not run is reported apart from pass/fail: programs its verifier rejects (with the
 * verifier's error line), `callx` (the kernel has no call through a register), and calls
 * of helper 5, which the suite defines as "unwind" while the kernel's helper 5 is
 * bpf_ktime_get_ns (a run would test a different function).
 *
 * Node-only (it loads into the kernel); the runner and the vm backend stay pure.
 */
import type { Instruction } from '../isa/instruction.js';
import { AttachType, ProgType } from '../uapi/index.js';
import type { BackendOutcome, ConformanceBackend } from '../vm/conformance.js';

/** How test programs are loaded: as the plugin does (`xdp`), or with r1 = the memory (`syscall`). */
export type KernelConformanceMode = 'syscall' | 'xdp';

/** The kernel's XDP test run refuses packets shorter than an Ethernet header. */
const ETH_HLEN = 14;
const OP_CALL = 0x85;
const OP_CALLX = 0x8d;
/** BPF_F_SLEEPABLE: syscall programs must be sleepable. */
const F_SLEEPABLE = 1 << 4;

/**
 * The kernel as a conformance backend. Imports src/kernel lazily so that merely
 * importing this module does not load the native addon.
 */
export async function kernelConformanceBackend(mode: KernelConformanceMode = 'syscall'): Promise<ConformanceBackend> {
  const { KernelProgram } = await import('../kernel/program.js');
  const { VerifierError, BpfError } = await import('../kernel/errors.js');
  const load = (instructions: Instruction[]) =>
    mode === 'xdp'
      ? KernelProgram.load({ type: ProgType.XDP, expectedAttachType: AttachType.XDP, instructions, name: 'conformance', license: 'MIT' })
      : KernelProgram.load({ type: ProgType.SYSCALL, flags: F_SLEEPABLE, instructions, name: 'conformance', license: 'MIT' });
  return {
    name: 'kernel',
    run(program: Instruction[], mem: Uint8Array): BackendOutcome {
      if (program.some((i) => i.code === OP_CALLX)) return { kind: 'refused', category: 'callx', message: "callx (call through a register) is not part of the kernel's instruction set" };
      if (program.some((i) => i.code === OP_CALL && i.src === 0 && i.imm === 5)) {
        return { kind: 'refused', category: 'helper', message: 'calls helper 5, which bpf_conformance defines as "unwind"; the kernel\'s helper 5 is bpf_ktime_get_ns' };
      }
      let prog: InstanceType<typeof KernelProgram>;
      try {
        prog = load(program);
      } catch (e) {
        if (e instanceof VerifierError) return { kind: 'refused', category: 'verifier', message: verifierErrorLine(e.log) ?? e.message.split('\n')[0]! };
        if (e instanceof BpfError) return { kind: 'refused', category: 'verifier', message: e.message.split('\n')[0]! };
        throw e;
      }
      try {
        let retval: number;
        if (mode === 'xdp') {
          // Zero-padded to an Ethernet header: the plugin passes the memory as it is, but the
          // XDP test run needs 14 bytes, and the program cannot see them (r1 is the context).
          const data = new Uint8Array(Math.max(mem.length, ETH_HLEN));
          data.set(mem);
          retval = prog.testRun({ data, repeat: 1 }).retval;
        } else {
          // A syscall program runs on its ctx alone: the test's memory.
          retval = prog.testRun(mem.length > 0 ? { ctx: mem } : {}).retval;
        }
        return { kind: 'returned', r0: BigInt(retval >>> 0), bits: 32 };
      } catch (e) {
        if (e instanceof BpfError) return { kind: 'error', message: e.message.split('\n')[0]! };
        throw e;
      } finally {
        prog.close();
      }
    },
  };
}

/**
 * The line of a verifier log that says why the program was rejected: the last line that
 * is not instruction trace, register state or statistics.
 */
export function verifierErrorLine(log: string): string | undefined {
  const lines = log.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const stats = /^(processed \d+ insns|verification time|stack depth|mark_precise|max_states_per_insn)/;
  const trace = /^(\d+: |\d+:|;|from \d+ to \d+|R\d+(_\w)?=|frame\d|last_idx|regs=|parent )/;
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!;
    if (stats.test(l) || trace.test(l)) continue;
    return l;
  }
  return undefined;
}
