/**
 * The bypass on the real kernel, driven through `bpfkit mesh up` as a child process:
 * connections in the test's cgroup are redirected byte-exact under load, sockets
 * outside it are never inserted, a policy change reaches connections already bypassed,
 * bad input changes nothing, and status/metrics report what happened.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../kernel/support.js';
import { repoRoot } from '../support/clang.js';
import { MeshMaps } from '../../src/mesh/maps.js';
import { PayloadCounter } from './segments.js';
import { clientResult, MeshEnv } from './support.js';

describeKernel('mesh bypass (kernel)', () => {
  let env: MeshEnv;
  let metrics: string;
  // The integrity and outside-cgroup tests run in a namespace of their own, so their lo
  // can carry iptables counters without touching the host's firewall.
  const netns = `bk${process.pid}-bypass`;

  beforeAll(async () => {
    env = new MeshEnv('bypass');
    env.onCleanup(() => execFileSync('ip', ['netns', 'del', netns], { stdio: 'pipe' }));
    execFileSync('ip', ['netns', 'add', netns], { stdio: 'pipe' });
    execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up'], { stdio: 'pipe' });
    const { proc } = await env.startAgent();
    metrics = (await proc.line(/^mesh: metrics on (http:\/\/[^/]+)\/metrics/))[1]!;
  }, 120_000);

  afterAll(async () => {
    await env?.cleanup();
  }, 60_000);

  /** Per-connection counters of the sockets with these local ports (client side) and their peers. */
  function connectionsOf(ports: number[]) {
    using maps = MeshMaps.fromPins(env.pinRoot);
    const all = maps.connections();
    const clients = all.filter((c) => c.role === 'client' && ports.includes(c.localPort));
    const servers = all.filter((c) => c.role === 'server' && clients.some((k) => k.peerCookie === c.cookie));
    return { clients, servers };
  }

  it('redirects every connection in its cgroup, 200 at once, 1 B-1 MiB both ways with half-closes, byte-exact, no payload on lo', async () => {
    const server = await env.peerServer(env.cgroup, '127.0.0.1', netns);
    const lo = new PayloadCounter(netns, 4, server.port);
    const client = env.peerClient(env.cgroup, '127.0.0.1', server.port, ['--conns', '200', '--rounds', '3', '--max-size', String(1 << 20), '--hold'], netns);
    const ports = (await client.line(/^holding ([\d,]+)/, 180_000))[1]!.split(',').map(Number);
    const { clients, servers } = connectionsOf(ports);
    expect(clients).toHaveLength(200);
    expect(servers).toHaveLength(200);
    // Every connection redirected; one whose reader lagged past the backlog limit may
    // have moved to TCP later, and the hashes below cover that path too.
    for (const c of [...clients, ...servers]) expect(c.redirectedBytes).toBeGreaterThan(0n);
    client.send('close');
    const result = await clientResult(client);
    expect(result).toMatchObject({ ok: true, errors: 0, frames: 600 });
    // Every payload byte of all 200 connections went by redirect; a connection that fell
    // back to TCP would show here (the outside-cgroup test below is the control).
    expect(lo.segments()).toBe(0);
    server.proc.kill();
  }, 240_000);

  it('never inserts sockets outside the chosen cgroup: their payload crosses lo', async () => {
    const outside = env.makeCgroup(`bpfkit-test-mesh-outside-${process.pid}`);
    using maps = MeshMaps.fromPins(env.pinRoot);
    const before = maps.counters();
    const server = await env.peerServer(outside, '127.0.0.1', netns);
    const lo = new PayloadCounter(netns, 4, server.port);
    const client = env.peerClient(outside, '127.0.0.1', server.port, ['--conns', '20', '--rounds', '2', '--max-size', '65536', '--hold'], netns);
    const ports = (await client.line(/^holding ([\d,]+)/, 60_000))[1]!.split(',').map(Number);
    const known = maps.connections().filter((c) => ports.includes(c.localPort) || ports.includes(c.remotePort));
    expect(known).toEqual([]);
    const after = maps.counters();
    expect(after.inserted).toBe(before.inserted);
    expect(after.redirected_bytes).toBe(before.redirected_bytes);
    client.send('close');
    expect((await clientResult(client)).ok).toBe(true);
    expect(lo.segments()).toBeGreaterThan(0);
    server.proc.kill();
  }, 120_000);

  it('a policy change reaches connections already bypassed: they fall back to TCP with every byte intact', async () => {
    const server = await env.peerServer(env.cgroup);
    const client = env.peerClient(env.cgroup, '127.0.0.1', server.port, ['--conns', '10', '--rounds', '4', '--max-size', '262144', '--pause-after', '2', '--hold']);
    const ports = (await client.line(/^paused ([\d,]+)/, 60_000))[1]!.split(',').map(Number);
    const early = connectionsOf(ports);
    expect(early.clients).toHaveLength(10);
    for (const c of [...early.clients, ...early.servers]) expect(c.redirectedBytes).toBeGreaterThan(0n);

    const file = `/tmp/bpfkit-test-mesh-policy-${process.pid}.json`;
    writeFileSync(file, JSON.stringify({ enabled: false }));
    env.onCleanup(() => writeFileSync(file, ''));
    const applied = env.cli(['mesh', 'policy', file, '--pin-root', env.pinRoot]);
    expect(applied.stderr).toBe('');
    expect(applied.status).toBe(0);

    client.send('go');
    await client.line(/^holding/, 60_000);
    const late = connectionsOf(ports);
    for (const c of [...late.clients, ...late.servers]) {
      expect(c.state).toBe('tcp');
      expect(c.passedBytes).toBeGreaterThan(0n);
      expect(c.redirectedBytes).toBe(early.clients.concat(early.servers).find((e) => e.cookie === c.cookie)!.redirectedBytes);
    }
    client.send('close');
    expect(await clientResult(client)).toMatchObject({ ok: true, frames: 40 });
    server.proc.kill();

    writeFileSync(file, JSON.stringify({ enabled: true }));
    expect(env.cli(['mesh', 'policy', file, '--pin-root', env.pinRoot]).status).toBe(0);
  }, 120_000);

  it('a malformed policy file or flag is a clear error and changes nothing', () => {
    using maps = MeshMaps.fromPins(env.pinRoot);
    const generation = maps.generation();
    const file = `/tmp/bpfkit-test-mesh-bad-${process.pid}.json`;
    writeFileSync(file, JSON.stringify({ enabled: true, ports: { include: ['80-70'] } }));
    const bad = env.cli(['mesh', 'policy', file, '--pin-root', env.pinRoot]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/ports\.include\[0\]/);
    writeFileSync(file, '{ not json');
    expect(env.cli(['mesh', 'policy', file, '--pin-root', env.pinRoot]).stderr).toMatch(/not valid JSON/);
    const flag = env.cli(['mesh', 'up', '--cgroup', env.cgroup, '--pin-root', env.pinRoot, '--accept-fault', 'nonsense']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toMatch(/--accept-fault nonsense: unknown fault/);
    const noCgroup = env.cli(['mesh', 'up', '--pin-root', env.pinRoot]);
    expect(noCgroup.status).toBe(2);
    expect(noCgroup.stderr).toMatch(/--cgroup PATH is required/);
    const unknown = env.cli(['mesh', 'status', '--frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/frobnicate/);
    expect(maps.generation()).toBe(generation);
    expect(maps.enabled()).toBe(true);
  }, 60_000);

  it('status and /metrics report the counters summed over CPUs, /healthz answers, status shows the accepted fault', async () => {
    const status = env.cli(['mesh', 'status', '--json', '--connections', '--pin-root', env.pinRoot]);
    expect(status.status).toBe(0);
    const report = JSON.parse(status.stdout) as { acceptedFaults: string[]; counters: Record<string, number>; agent: { pid: number } | null };
    expect(report.acceptedFaults).toContain('splice');
    expect(report.agent).not.toBeNull();
    expect(report.counters.redirected_bytes).toBeGreaterThan(0);
    const text = await (await fetch(`${metrics}/metrics`)).text();
    const value = Number(/^bpfkit_mesh_redirected_bytes_total (\d+)$/m.exec(text)?.[1]);
    expect(value).toBeGreaterThanOrEqual(report.counters.redirected_bytes!);
    expect(text).toMatch(/bpfkit_mesh_accepted_fault\{fault="splice"\} 1/);
    const health = await fetch(`${metrics}/healthz`);
    expect(health.status).toBe(200);
  }, 60_000);

  it('leaves MPTCP connections on the normal path', async () => {
    using maps = MeshMaps.fromPins(env.pinRoot);
    const before = maps.counters();
    const proc = env.spawnIn(env.cgroup, ['python3', join(repoRoot, 'test/mesh/mptcp.py')]);
    const result = JSON.parse((await proc.line(/^\{.*\}$/, 60_000))[0]) as { port: number; intact: boolean };
    expect(result.intact).toBe(true);
    const after = maps.counters();
    // Both subflow ends (client and server) were seen and skipped; nothing was inserted for them.
    expect(after.mptcp_skipped - before.mptcp_skipped).toBeGreaterThanOrEqual(2n);
    expect(after.inserted).toBe(before.inserted);
    expect(maps.connections().filter((c) => c.localPort === result.port || c.remotePort === result.port)).toEqual([]);
    proc.send('done');
  }, 60_000);

  it('port and CIDR policy keep matching connections out of the sockhash, applied at run time', async () => {
    const file = `/tmp/bpfkit-test-mesh-ports-${process.pid}.json`;
    env.onCleanup(() => writeFileSync(file, ''));
    const server = await env.peerServer(env.cgroup);
    using maps = MeshMaps.fromPins(env.pinRoot);
    for (const policy of [{ ports: { exclude: [String(server.port)] } }, { cidrs: { exclude: ['127.0.0.0/8'] } }, { ports: { include: ['1-1023'] } }]) {
      writeFileSync(file, JSON.stringify(policy));
      expect(env.cli(['mesh', 'policy', file, '--pin-root', env.pinRoot]).status).toBe(0);
      const before = maps.counters();
      const client = env.peerClient(env.cgroup, '127.0.0.1', server.port, ['--conns', '5', '--rounds', '1', '--max-size', '4096', '--hold']);
      const ports = (await client.line(/^holding ([\d,]+)/, 60_000))[1]!.split(',').map(Number);
      expect(maps.connections().filter((c) => ports.includes(c.localPort) || ports.includes(c.remotePort))).toEqual([]);
      const after = maps.counters();
      expect(after.policy_skipped - before.policy_skipped, JSON.stringify(policy)).toBe(5n);
      expect(after.inserted).toBe(before.inserted);
      client.send('close');
      expect((await clientResult(client)).ok).toBe(true);
    }
    writeFileSync(file, JSON.stringify({ ports: { include: [String(server.port)] }, cidrs: { include: ['127.0.0.0/8'] } }));
    expect(env.cli(['mesh', 'policy', file, '--pin-root', env.pinRoot]).status).toBe(0);
    const client = env.peerClient(env.cgroup, '127.0.0.1', server.port, ['--conns', '5', '--rounds', '1', '--max-size', '4096', '--hold']);
    const ports = (await client.line(/^holding ([\d,]+)/, 60_000))[1]!.split(',').map(Number);
    const included = maps.connections().filter((c) => c.role === 'client' && ports.includes(c.localPort));
    expect(included).toHaveLength(5);
    for (const c of included) expect(c.redirectedBytes).toBeGreaterThan(0n);
    client.send('close');
    expect((await clientResult(client)).ok).toBe(true);
    writeFileSync(file, JSON.stringify({ enabled: true }));
    expect(env.cli(['mesh', 'policy', file, '--pin-root', env.pinRoot]).status).toBe(0);
    server.proc.kill();
  }, 120_000);
});
