// Run by faults.test.ts: attaches a socket-denying program to the cgroup in argv[2] with a
// link, says "attached", and waits to be killed.
import { attachCgroup } from '../../../src/kernel/attach.js';
import { KernelProgram } from '../../../src/kernel/program.js';
import { ProgramBuilder, R0 } from '../../../src/isa/index.js';
import { AttachType } from '../../../src/uapi/index.js';

const deny = KernelProgram.load({
  type: 'CGROUP_SOCK',
  expectedAttachType: AttachType.CGROUP_INET_SOCK_CREATE,
  instructions: new ProgramBuilder().mov64(R0, 0).exit().build(),
});
const link = attachCgroup(deny, process.argv[2]!);
console.log('attached');
setInterval(() => void link, 1000);
