/**
 * Every attach kind here fires its hook, sees the program's effect, detaches, and sees
 * the effect gone. Targets are our own: a child cgroup, a veth pair with one end in a
 * network namespace we create, our own sockets.
 */
import { createSocket } from 'node:dgram';
import { existsSync, unlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ProgramBuilder, R0, type Instruction } from '../../src/isa/index.js';
import {
  attachCgroup,
  attachNetns,
  attachPerfEvent,
  attachRawTracepoint,
  attachSocketFilter,
  attachTcx,
  attachTracepoint,
  attachXdp,
} from '../../src/kernel/attach.js';
import { KernelLink } from '../../src/kernel/link.js';
import { createMap } from '../../src/kernel/map-create.js';
import type { KernelMap } from '../../src/kernel/map.js';
import { openPerfEvent, PerfSoftware, PerfType } from '../../src/kernel/perf-event.js';
import { KernelProgram } from '../../src/kernel/program.js';
import { AttachType, LinkType } from '../../src/uapi/index.js';
import { describeKernel, readU64, runInCgroup, scratchCgroup, scratchVeth, sendUdpFrom, u32, countingProgram } from './support.js';


/** r0 = retval */
function returns(retval: number): Instruction[] {
  return new ProgramBuilder().mov64(R0, retval).exit().build();
}

function count(counter: KernelMap): bigint {
  return readU64(counter.lookup(u32(0))!);
}

describeKernel('attach', () => {
  let counter: KernelMap;
  beforeAll(() => {
    counter = createMap({ type: 'ARRAY', name: 'attach_count', valueSize: 8, maxEntries: 1 });
  });
  afterAll(() => counter.close());
  const reset = () => counter.update(u32(0), new Uint8Array(8));

  it('cgroup sock_create: deny, update in place, pin, detach', () => {
    const socket = `python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM); print('created')"`;
    using deny = KernelProgram.load({ type: 'CGROUP_SOCK', name: 'deny', expectedAttachType: AttachType.CGROUP_INET_SOCK_CREATE, instructions: returns(0) });
    using allow = KernelProgram.load({ type: 'CGROUP_SOCK', name: 'allow', expectedAttachType: AttachType.CGROUP_INET_SOCK_CREATE, instructions: returns(1) });
    const cgroup = scratchCgroup();
    const pin = `/sys/fs/bpf/bpfkit-test-${process.pid}-link`;
    try {
      expect(runInCgroup(cgroup.path, socket)).toMatch(/created/);
      const link = attachCgroup(deny, cgroup.path);
      expect(link.info().type).toBe(LinkType.CGROUP);
      expect(runInCgroup(cgroup.path, socket)).toMatch(/PermissionError/);

      link.update(allow);
      expect(runInCgroup(cgroup.path, socket)).toMatch(/created/);
      expect(() => link.update(deny, deny)).toThrow(/LINK_UPDATE/); // allow is attached, not deny
      link.update(deny, allow);
      expect(runInCgroup(cgroup.path, socket)).toMatch(/PermissionError/);

      // Pinned, the link outlives its fd; unpinned and closed, it is gone.
      link.pin(pin);
      link.close();
      expect(runInCgroup(cgroup.path, socket)).toMatch(/PermissionError/);
      const again = KernelLink.fromPin(pin);
      unlinkSync(pin);
      again.detach();
      expect(runInCgroup(cgroup.path, socket)).toMatch(/created/);
      again.close();
    } finally {
      if (existsSync(pin)) unlinkSync(pin);
      cgroup.remove();
    }
  });

  it('raw tracepoint sys_enter counts syscalls until closed', async () => {
    reset();
    using prog = KernelProgram.load({ type: 'RAW_TRACEPOINT', instructions: countingProgram(counter.fd, 0, 0) });
    const link = attachRawTracepoint(prog, 'sys_enter');
    await sleep(20);
    expect(count(counter)).toBeGreaterThan(0n);
    link.close();
    const after = count(counter);
    await sleep(20);
    expect(count(counter)).toBe(after);
  });

  it('tracepoint syscalls/sys_enter_getppid, through tracefs and a perf link', () => {
    reset();
    using prog = KernelProgram.load({ type: 'TRACEPOINT', instructions: countingProgram(counter.fd, 0, 0) });
    const getppid = `python3 -c "import os; [os.getppid() for _ in range(50)]"`;
    const link = attachTracepoint(prog, 'syscalls', 'sys_enter_getppid');
    expect(link.info().type).toBe(LinkType.PERF_EVENT);
    const cgroup = scratchCgroup();
    try {
      runInCgroup(cgroup.path, getppid);
      expect(count(counter)).toBeGreaterThanOrEqual(50n);
      link.close();
      const after = count(counter);
      runInCgroup(cgroup.path, getppid);
      expect(count(counter)).toBe(after);
    } finally {
      cgroup.remove();
    }
  });

  it('perf event: a software cpu-clock event samples into the program', async () => {
    reset();
    using prog = KernelProgram.load({ type: 'PERF_EVENT', instructions: countingProgram(counter.fd, 0, 0) });
    const perfFd = openPerfEvent({ type: PerfType.SOFTWARE, config: PerfSoftware.CPU_CLOCK, samplePeriod: 1_000_000, cpu: 0, pid: -1 });
    const link = attachPerfEvent(prog, perfFd);
    await sleep(100);
    expect(count(counter)).toBeGreaterThan(5n);
    link.close();
    const { native } = await import('../../src/kernel/native.js');
    native().close(perfFd);
    const after = count(counter);
    await sleep(30);
    expect(count(counter)).toBe(after);
  });

  it('socket filter: drops datagrams until detached', async () => {
    using drop = KernelProgram.load({ type: 'SOCKET_FILTER', instructions: returns(0) });
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const received: Buffer[] = [];
    socket.on('message', (m) => received.push(m));
    const port = socket.address().port;
    const send = () => new Promise<void>((resolve) => socket.send('ping', port, '127.0.0.1', () => resolve()));
    try {
      const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
      const attachment = attachSocketFilter(drop, fd);
      await send();
      await sleep(100);
      expect(received).toHaveLength(0);
      attachment.close();
      await send();
      for (let i = 0; i < 50 && received.length === 0; i++) await sleep(10);
      expect(received).toHaveLength(1);
    } finally {
      socket.close();
    }
  });

  it('xdp and tcx on our own veth, and sk_lookup on our own network namespace', async () => {
    const veth = scratchVeth();
    try {
      // XDP: counts packets arriving at the outside end.
      reset();
      using xdp = KernelProgram.load({ type: 'XDP', instructions: countingProgram(counter.fd, 0, 2) });
      const xdpLink = attachXdp(xdp, veth.outside);
      expect(xdpLink.info().type).toBe(LinkType.XDP);
      sendUdpFrom(veth.netns, veth.outsideIp, 9, 20);
      expect(count(counter)).toBeGreaterThanOrEqual(20n);
      xdpLink.close();
      let after = count(counter);
      sendUdpFrom(veth.netns, veth.outsideIp, 9, 20);
      expect(count(counter)).toBe(after);

      // tcx ingress on the same device.
      reset();
      using tc = KernelProgram.load({ type: 'SCHED_CLS', expectedAttachType: AttachType.TCX_INGRESS, instructions: countingProgram(counter.fd, 0, 0) });
      const tcLink = attachTcx(tc, veth.outside, 'ingress');
      expect(tcLink.info().type).toBe(LinkType.TCX);
      sendUdpFrom(veth.netns, veth.outsideIp, 9, 20);
      expect(count(counter)).toBeGreaterThanOrEqual(20n);
      tcLink.close();
      after = count(counter);
      sendUdpFrom(veth.netns, veth.outsideIp, 9, 20);
      expect(count(counter)).toBe(after);

      // sk_lookup inside the namespace: runs when a packet from outside looks for a socket there.
      reset();
      using lookup = KernelProgram.load({ type: 'SK_LOOKUP', expectedAttachType: AttachType.SK_LOOKUP, instructions: countingProgram(counter.fd, 0, 1) });
      const lookupLink = attachNetns(lookup, `/run/netns/${veth.netns}`);
      expect(lookupLink.info().type).toBe(LinkType.NETNS);
      await sendUdp(veth.insideIp, 20);
      expect(count(counter)).toBeGreaterThanOrEqual(20n);
      lookupLink.close();
      after = count(counter);
      await sendUdp(veth.insideIp, 20);
      expect(count(counter)).toBe(after);
    } finally {
      veth.remove();
    }
  });
});

async function sendUdp(ip: string, count: number): Promise<void> {
  const socket = createSocket('udp4');
  try {
    for (let i = 0; i < count; i++) await new Promise<void>((resolve) => socket.send('x', 9, ip, () => resolve()));
    await sleep(50);
  } finally {
    socket.close();
  }
}
