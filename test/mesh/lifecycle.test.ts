/**
 * The agent's lifecycle on the real kernel: SIGKILLed mid-traffic (connections keep
 * working, nothing stays attached), an upgrade over a running agent (old connections
 * keep their redirect and still obey a later policy change), `mesh down` with pinned
 * links, and the old programs and maps freed once the last bypassed socket closes.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../kernel/support.js';
import { KernelMap } from '../../src/kernel/map.js';
import { createMap } from '../../src/kernel/map-create.js';
import { MeshMaps, type MeshConnection } from '../../src/mesh/maps.js';
import { AttachType } from '../../src/uapi/index.js';
import { attachedPrograms, BpfCmd, cgroupPrograms, objectExists } from './attached.js';
import { PayloadCounter } from './segments.js';
import { clientResult, MeshEnv, type Proc } from './support.js';

describeKernel('mesh agent lifecycle (kernel)', () => {
  let env: MeshEnv;
  const policyFile = `/tmp/bpfkit-test-mesh-lifecycle-${process.pid}.json`;

  // The SIGKILL test runs in a namespace of its own so iptables can count its lo traffic.
  const netns = `bk${process.pid}-lifecycle`;

  beforeAll(() => {
    env = new MeshEnv('lifecycle');
    env.onCleanup(() => execFileSync('ip', ['netns', 'del', netns], { stdio: 'pipe' }));
    execFileSync('ip', ['netns', 'add', netns], { stdio: 'pipe' });
    execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up'], { stdio: 'pipe' });
  });
  afterAll(async () => {
    rmSync(policyFile, { force: true });
    await env?.cleanup();
  }, 60_000);

  function ourConnections(ports: number[]): MeshConnection[] {
    using maps = MeshMaps.fromPins(env.pinRoot);
    const all = maps.connections();
    const clients = all.filter((c) => c.role === 'client' && ports.includes(c.localPort));
    return [...clients, ...all.filter((c) => c.role === 'server' && clients.some((k) => k.peerCookie === c.cookie))];
  }

  /** Nothing of the bypass attached: no links by these ids, nothing on the cgroup or the sockhash. */
  function expectNothingAttached(linkIds: number[]): void {
    for (const id of linkIds) expect(objectExists(BpfCmd.LINK_GET_FD_BY_ID, id)).toBe(false);
    expect(cgroupPrograms(env.cgroup, AttachType.CGROUP_SOCK_OPS)).toEqual([]);
    for (const name of ['mesh_socks', 'mesh_picked_socks']) {
      using socks = KernelMap.fromPin(join(env.pinRoot, name));
      expect(attachedPrograms(socks.fd, AttachType.SK_MSG_VERDICT)).toEqual([]);
      expect(attachedPrograms(socks.fd, AttachType.SK_SKB_STREAM_VERDICT)).toEqual([]);
    }
  }

  async function traffic(conns: number, rounds: number, inNetns?: string): Promise<{ server: { proc: Proc; port: number }; client: Proc; ports: number[] }> {
    const server = await env.peerServer(env.cgroup, '127.0.0.1', inNetns);
    const client = env.peerClient(env.cgroup, '127.0.0.1', server.port, ['--conns', String(conns), '--rounds', String(rounds), '--max-size', '262144', '--pause-after', '2', '--hold'], inNetns);
    const ports = (await client.line(/^paused ([\d,]+)/, 60_000))[1]!.split(',').map(Number);
    return { server, client, ports };
  }

  it('SIGKILLed mid-traffic: every connection keeps working, and nothing stays attached', async () => {
    const { proc: agent, linkIds } = await env.startAgent();
    expect(cgroupPrograms(env.cgroup, AttachType.CGROUP_SOCK_OPS)).toHaveLength(1);
    const { server, client, ports } = await traffic(20, 5, netns);
    const lo = new PayloadCounter(netns, 4, server.port);
    const before = ourConnections(ports);
    expect(before).toHaveLength(40);
    for (const c of before) expect(c.redirectedBytes).toBeGreaterThan(0n);

    agent.kill('SIGKILL');
    await agent.exited;
    expectNothingAttached(linkIds);

    client.send('go');
    await client.line(/^holding/, 60_000);
    const after = ourConnections(ports);
    expect(after).toHaveLength(40);
    // Sockets already in the sockhash keep the programs they were given.
    for (const c of after) {
      expect(c.state).toBe('redirect');
      expect(c.redirectedBytes).toBeGreaterThan(before.find((b) => b.cookie === c.cookie)!.redirectedBytes);
    }
    client.send('close');
    expect(await clientResult(client)).toMatchObject({ ok: true, frames: 100 });
    // After the kill the bytes still went by redirect, none over lo (the outside-cgroup
    // tests in bypass.test.ts show this counter does see TCP payload).
    expect(lo.segments()).toBe(0);
    server.proc.kill();
  }, 180_000);

  it('an upgrade over a running agent keeps old connections redirected, and a later policy change still reaches them', async () => {
    const first = await env.startAgent();
    const { server, client, ports } = await traffic(10, 4);
    const before = ourConnections(ports);
    for (const c of before) expect(c.redirectedBytes).toBeGreaterThan(0n);

    const second = await env.startAgent();
    expect(await first.proc.exited).toBe(0);
    expect(first.proc.lines.some((l) => /SIGTERM: detached/.test(l))).toBe(true);
    for (const id of first.linkIds) expect(objectExists(BpfCmd.LINK_GET_FD_BY_ID, id)).toBe(false);
    expect(cgroupPrograms(env.cgroup, AttachType.CGROUP_SOCK_OPS)).toHaveLength(1);

    // One more round on the old connections: still redirected through the reused maps.
    writeFileSync(policyFile, JSON.stringify({ enabled: false }));
    client.send('go');
    await client.line(/^holding/, 60_000);
    const mid = ourConnections(ports);
    expect(mid).toHaveLength(20);
    expect(env.cli(['mesh', 'policy', policyFile, '--pin-root', env.pinRoot]).status).toBe(0);
    client.send('close');
    expect(await clientResult(client)).toMatchObject({ ok: true, frames: 40 });
    for (const c of mid) expect(c.redirectedBytes).toBeGreaterThan(before.find((b) => b.cookie === c.cookie)!.redirectedBytes);
    server.proc.kill();

    // The policy change reached the old (first agent's) connections: new traffic on fresh
    // connections is not redirected either, and re-enabling works.
    writeFileSync(policyFile, JSON.stringify({ enabled: true }));
    expect(env.cli(['mesh', 'policy', policyFile, '--pin-root', env.pinRoot]).status).toBe(0);
    second.proc.kill('SIGTERM');
    expect(await second.proc.exited).toBe(0);
    expectNothingAttached(second.linkIds);
  }, 180_000);

  it('a policy change after an upgrade turns old connections to TCP, bytes intact', async () => {
    await env.startAgent();
    const { server, client, ports } = await traffic(10, 4);
    await env.startAgent(); // the upgrade
    writeFileSync(policyFile, JSON.stringify({ enabled: false }));
    expect(env.cli(['mesh', 'policy', policyFile, '--pin-root', env.pinRoot]).status).toBe(0);
    client.send('go');
    await client.line(/^holding/, 60_000);
    const conns = ourConnections(ports);
    expect(conns).toHaveLength(20);
    for (const c of conns) {
      expect(c.redirectedBytes).toBeGreaterThan(0n);
      expect(c.state).toBe('tcp');
      expect(c.passedBytes).toBeGreaterThan(0n);
    }
    client.send('close');
    expect(await clientResult(client)).toMatchObject({ ok: true, frames: 40 });
    server.proc.kill();
    writeFileSync(policyFile, JSON.stringify({ enabled: true }));
    expect(env.cli(['mesh', 'policy', policyFile, '--pin-root', env.pinRoot]).status).toBe(0);
  }, 180_000);

  it('an upgrade over pins of an incompatible shape is refused before the running agent is touched', async () => {
    const { proc: running, linkIds } = await env.startAgent();
    // Swap one pin for a map of another shape, as an agent of another version would leave.
    const pin = join(env.pinRoot, 'mesh_pending');
    unlinkSync(pin);
    using other = createMap({ type: 'LRU_HASH', keySize: 16, valueSize: 16, maxEntries: 16 });
    other.pin(pin);
    const up = env.cli(['mesh', 'up', '--cgroup', env.cgroup, '--pin-root', env.pinRoot, '--metrics', 'off', '--accept-fault', 'splice']);
    expect(up.status).not.toBe(0);
    expect(up.stderr).toMatch(/mesh_pending.*incompatible.*value.*mesh down --purge/s);
    // The running agent and its links are as they were.
    expect(running.child.exitCode).toBeNull();
    for (const id of linkIds) expect(objectExists(BpfCmd.LINK_GET_FD_BY_ID, id)).toBe(true);
    running.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    unlinkSync(pin);
  }, 120_000);

  it('mesh down detaches pinned links too; once the bypassed sockets close, programs and maps are freed', async () => {
    const { proc: agent, linkIds } = await env.startAgent(['--pin-links']);
    const { server, client, ports } = await traffic(5, 4);
    for (const c of ourConnections(ports)) expect(c.redirectedBytes).toBeGreaterThan(0n);
    const progIds: number[] = [];
    {
      using socks = KernelMap.fromPin(join(env.pinRoot, 'mesh_socks'));
      progIds.push(...attachedPrograms(socks.fd, AttachType.SK_MSG_VERDICT), ...cgroupPrograms(env.cgroup, AttachType.CGROUP_SOCK_OPS));
    }
    expect(progIds).toHaveLength(2);
    const mapIds = ['mesh_socks', 'mesh_conns', 'mesh_config'].map((n) => {
      using m = KernelMap.fromPin(join(env.pinRoot, n));
      return m.info().id;
    });

    const down = env.cli(['mesh', 'down', '--purge', '--pin-root', env.pinRoot]);
    expect(down.stderr).toBe('');
    expect(down.status).toBe(0);
    expect(await agent.exited).toBe(0);
    for (const id of linkIds) expect(objectExists(BpfCmd.LINK_GET_FD_BY_ID, id)).toBe(false);
    expect(cgroupPrograms(env.cgroup, AttachType.CGROUP_SOCK_OPS)).toEqual([]);
    // The sockets still hold the old programs, which hold the maps.
    for (const id of mapIds) expect(objectExists(BpfCmd.MAP_GET_FD_BY_ID, id)).toBe(true);

    client.send('go');
    await client.line(/^holding/, 60_000);
    client.send('close');
    expect(await clientResult(client)).toMatchObject({ ok: true, frames: 20 });
    server.proc.kill();
    await server.proc.exited;
    const deadline = Date.now() + 10_000;
    const alive = () => [...progIds.filter((id) => objectExists(BpfCmd.PROG_GET_FD_BY_ID, id)), ...mapIds.filter((id) => objectExists(BpfCmd.MAP_GET_FD_BY_ID, id))];
    while (alive().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive()).toEqual([]);
  }, 180_000);
});
