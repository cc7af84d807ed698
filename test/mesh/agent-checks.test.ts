/**
 * The agent's checks on the real kernel: the startup probe's findings, refusing an
 * unaccepted fault with nothing changed, refusing without privileges, and socket
 * semantics (FIONREAD, readiness, shutdown, backpressure) inside the bypass matching
 * the same program outside it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../kernel/support.js';
import { repoRoot } from '../support/clang.js';
import { MeshMaps } from '../../src/mesh/maps.js';
import { AttachType } from '../../src/uapi/index.js';
import { cgroupPrograms } from './attached.js';
import { MeshEnv } from './support.js';

interface Semantics {
  fionread: number;
  readable: boolean;
  recv: number;
  readable_when_drained: boolean;
  eof_readable: boolean;
  eof: boolean;
  fionread_back: number;
  recv_back: number;
  blocked: boolean;
  accepted_before_blocking: number;
  backpressure_intact: boolean;
  ports: number[];
}

describeKernel('mesh agent checks (kernel)', () => {
  let env: MeshEnv;

  beforeAll(() => {
    env = new MeshEnv('checks');
  });
  afterAll(async () => {
    await env?.cleanup();
  }, 60_000);

  it('the probe finds the FIONREAD fault fixed by the sk_skb workaround, redirects its own bytes, keeps large sends intact, gets EBUSY from a second sockmap', () => {
    const run = env.cli(['mesh', 'probe', '--json']);
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as { findings: Array<{ fault: string; present: boolean; fixedByWorkaround: boolean; detail: string }>; skbVerdict: boolean; unfixed: string[] };
    const by = Object.fromEntries(report.findings.map((f) => [f.fault, f]));
    expect(by['not-redirected']!.present).toBe(false);
    expect(by['large-send']!.present).toBe(false);
    expect(by['second-sockmap']!.present).toBe(false);
    expect(by['second-sockmap']!.detail).toMatch(/EBUSY/);
    // Either this kernel is fine, or the workaround must really fix it.
    if (by.fionread!.present) {
      expect(by.fionread!.fixedByWorkaround).toBe(true);
      expect(report.skbVerdict).toBe(true);
    }
    expect(report.unfixed).toEqual(report.findings.filter((f) => f.present && !f.fixedByWorkaround).map((f) => f.fault));
  }, 60_000);

  it('refuses an unaccepted fault by name and leaves nothing behind', async () => {
    const probe = JSON.parse(env.cli(['mesh', 'probe', '--json']).stdout) as { unfixed: string[] };
    if (probe.unfixed.length === 0) return; // nothing to refuse on a fixed kernel: covered by the unit path
    const run = env.cli(['mesh', 'up', '--cgroup', env.cgroup, '--pin-root', env.pinRoot, '--metrics', 'off']);
    expect(run.status).toBe(1);
    for (const f of probe.unfixed) expect(run.stderr).toContain(`--accept-fault ${f}`);
    expect(run.stderr).toMatch(/refusing to enable the bypass/);
    expect(existsSync(env.pinRoot)).toBe(false);
    expect(cgroupPrograms(env.cgroup, AttachType.CGROUP_SOCK_OPS)).toEqual([]);
  }, 60_000);

  it('without privileges: a clear error naming the missing capabilities, nothing changed', () => {
    // Root without capabilities: an empty bounding set leaves the exec'd process none.
    const run = env.cli(['mesh', 'up', '--cgroup', env.cgroup, '--pin-root', env.pinRoot], { prefix: ['setpriv', '--bounding-set=-all', '--inh-caps=-all'] });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/needs root: missing CAP_SYS_ADMIN .*CAP_NET_ADMIN .*CAP_BPF/);
    expect(existsSync(env.pinRoot)).toBe(false);
    const status = env.cli(['mesh', 'status', '--pin-root', env.pinRoot], { prefix: ['setpriv', '--bounding-set=-all', '--inh-caps=-all'] });
    expect(status.stderr).toMatch(/CAP_BPF/);
  }, 60_000);

  it('FIONREAD, readiness, shutdown and backpressure inside the bypass behave as outside it', async () => {
    await env.startAgent();
    const script = join(repoRoot, 'test/mesh/semantics.py');
    const outside = env.makeCgroup(`bpfkit-test-mesh-checks-out-${process.pid}`);
    const runIn = async (cgroup: string) => {
      const proc = env.spawnIn(cgroup, ['python3', script]);
      const line = await proc.line(/^\{.*\}$/, 60_000);
      return { proc, result: JSON.parse(line[0]) as Semantics };
    };
    const plain = await runIn(outside);
    plain.proc.send('done');
    const bypassed = await runIn(env.cgroup);
    {
      using maps = MeshMaps.fromPins(env.pinRoot);
      const mine = maps.connections().filter((c) => c.role === 'client' && bypassed.result.ports.includes(c.localPort));
      expect(mine).toHaveLength(2);
      for (const c of mine) expect(c.redirectedBytes).toBeGreaterThan(0n);
      // The receiver that stopped reading moved its connection to TCP, whose window blocked the sender.
      const stalled = mine.find((c) => c.localPort === bypassed.result.ports[1])!;
      expect(stalled.state).toBe('tcp');
      expect(stalled.passedBytes).toBeGreaterThan(0n);
      expect(maps.connections().filter((c) => plain.result.ports.includes(c.localPort))).toEqual([]);
    }
    bypassed.proc.send('done');
    const { ports: _a, accepted_before_blocking: plainBuffered, ...plainRest } = plain.result;
    const { ports: _b, accepted_before_blocking: bypassBuffered, ...bypassRest } = bypassed.result;
    expect(plainRest).toEqual({ fionread: 1000, readable: true, recv: 1000, readable_when_drained: false, eof_readable: true, eof: true, fionread_back: 500, recv_back: 500, blocked: true, backpressure_intact: true });
    expect(bypassRest).toEqual(plainRest);
    // Memory stays bounded: the bypass buffers no more than a few times what TCP does.
    expect(bypassBuffered).toBeGreaterThan(0);
    expect(bypassBuffered).toBeLessThan(Math.max(plainBuffered * 4, 16 << 20));
  }, 120_000);
});
