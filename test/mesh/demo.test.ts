/**
 * `bpfkit mesh demo` on the real kernel: it runs with no configuration, shows both
 * paths and the counters (the bypass really redirected), and leaves nothing behind.
 */
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { describeKernel } from '../kernel/support.js';
import { cgroup2Root } from '../../src/mesh/host.js';
import { CLI, NODE_TS } from './support.js';
import { repoRoot } from '../support/clang.js';

describeKernel('bpfkit mesh demo (kernel)', () => {
  it('shows TCP and bypass side by side with live counters, and cleans up after itself', async () => {
    const child = spawn(NODE_TS[0]!, [...NODE_TS.slice(1), CLI, 'mesh', 'demo'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/latency, 64 B request\/response, 1 connection +TCP +[\d.]+ +bypass +[\d.]+ µs p50/);
    const redirected = Number(/the bypass redirected (\d+) bytes/.exec(stdout)?.[1]);
    expect(redirected).toBeGreaterThan(0);
    for (const name of [`bpfkit-demo-tcp-${child.pid}`, `bpfkit-demo-bypass-${child.pid}`, `bpfkit-mesh-probe-${child.pid}`]) expect(existsSync(`${cgroup2Root()}/${name}`)).toBe(false);
    expect(existsSync(`/sys/fs/bpf/bpfkit-demo-${child.pid}`)).toBe(false);
  }, 300_000);
});
