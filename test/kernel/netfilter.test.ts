/**
 * attachNetfilter: a netfilter hook covers the whole network namespace of the process
 * that creates the link, so the attaching runs in a child process inside a scratch
 * namespace (helpers/netfilter-in-netns.ts) and never in the runner's own namespace.
 * The child counts packets at NF_INET_LOCAL_IN, drops a TCP connect while its switch
 * says drop, detaches, and shows traffic passing with the count frozen.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LinkType } from '../../src/uapi/index.js';
import { compileBpf, repoRoot } from '../support/clang.js';
import { describeKernel } from './support.js';

interface Phase {
  connected: boolean;
  seen: string;
}
interface Report {
  ownNetns: string;
  linkType: number;
  beforeAttach: Phase;
  accepting: Phase;
  dropping: Phase;
  seenAtDetach: string;
  detached: Phase;
  detachedAgain: Phase;
}

describeKernel('attachNetfilter (in a scratch network namespace)', () => {
  const netns = `bpfkit-nf-${process.pid}`;
  const removeNetns = () => spawnSync('ip', ['netns', 'del', netns], { stdio: 'ignore' });

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', netns], { stdio: 'pipe' });
    try {
      execFileSync('ip', ['netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'pipe' });
    } catch (error) {
      removeNetns();
      throw error;
    }
  });
  // Deleting the namespace also releases any hook a crashed child could not detach.
  afterAll(() => {
    removeNetns();
    expect(existsSync(`/run/netns/${netns}`)).toBe(false);
  });

  it('counts and drops LOCAL_IN packets while attached, and stops when the link closes', () => {
    const object = compileBpf('test/kernel/fixtures/netfilter.c');
    const runnerNetns = readlinkSync('/proc/self/ns/net');
    const child = spawnSync(
      'ip',
      ['netns', 'exec', netns, process.execPath, '--import', 'tsx', join(repoRoot, 'test/kernel/helpers/netfilter-in-netns.ts'), object, runnerNetns],
      { encoding: 'utf8', cwd: repoRoot, timeout: 50_000, killSignal: 'SIGKILL' },
    );
    expect(child.status, `child failed:\n${child.stderr}`).toBe(0);
    const r = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Report;
    const n = (s: string) => BigInt(s);

    expect(r.ownNetns).not.toBe(runnerNetns);
    expect(r.linkType).toBe(LinkType.NETFILTER);
    // Before attaching, nothing runs the program.
    expect(r.beforeAttach).toEqual({ connected: true, seen: '0' });
    // Attached and accepting: the connect completes and the hook saw its packets.
    expect(r.accepting.connected).toBe(true);
    expect(n(r.accepting.seen)).toBeGreaterThan(0n);
    // Attached and dropping: the SYN never reaches the listener, and the hook saw it.
    expect(r.dropping.connected).toBe(false);
    expect(n(r.dropping.seen)).toBeGreaterThan(n(r.accepting.seen));
    // Detached (the switch still says drop): traffic passes and the count stands still.
    expect(r.detached.connected).toBe(true);
    expect(r.detachedAgain.connected).toBe(true);
    expect(r.detached.seen).toBe(r.seenAtDetach);
    expect(r.detachedAgain.seen).toBe(r.seenAtDetach);
  });
});
