/**
 * The Kubernetes DaemonSet in deploy/, checked statically (no cluster is at hand): it
 * runs `bpfkit mesh up` with flags the CLI accepts, privileged, with the node's bpffs
 * and cgroup2 mounts, and probes the agent's /healthz on the port /metrics is served on.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/clang.js';
import { parseAddress } from '../../src/mesh/metrics.js';
import { FAULT_NAMES } from '../../src/mesh/probe.js';

// PyYAML (python3-yaml) parses the manifest exactly as YAML, multi-document included.
const docs = JSON.parse(
  execFileSync('python3', ['-c', 'import sys, yaml, json; print(json.dumps(list(yaml.safe_load_all(sys.stdin))))'], {
    input: readFileSync(join(repoRoot, 'deploy/kubernetes/bpfkit-mesh.yaml')),
  }).toString(),
) as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any

const UP_FLAGS: Record<string, 'value' | 'boolean'> = { '--cgroup': 'value', '--policy': 'value', '--metrics': 'value', '--pin-root': 'value', '--accept-fault': 'value', '--pin-links': 'boolean' };

describe('deploy/kubernetes/bpfkit-mesh.yaml', () => {
  const ds = docs.find((d) => d.kind === 'DaemonSet')!;
  const pod = ds?.spec.template.spec;
  const agent = pod?.containers[0];

  it('is a DaemonSet whose selector matches its pods', () => {
    expect(ds).toBeDefined();
    expect(ds.apiVersion).toBe('apps/v1');
    expect(ds.spec.selector.matchLabels).toEqual(expect.objectContaining(ds.spec.template.metadata.labels));
    expect(docs.find((d) => d.kind === 'Namespace')?.metadata.name).toBe(ds.metadata.namespace);
  });

  it('runs "bpfkit mesh up" with flags the CLI accepts', () => {
    expect([...agent.command, ...agent.args.slice(0, 2)]).toEqual(['bpfkit', 'mesh', 'up']);
    const args: string[] = agent.args.slice(2);
    const seen = new Map<string, string>();
    for (let i = 0; i < args.length; i++) {
      const kind = UP_FLAGS[args[i]!];
      expect(kind, `unknown flag ${args[i]}`).toBeDefined();
      if (kind === 'value') {
        seen.set(args[i]!, args[i + 1]!);
        i++;
      }
    }
    expect(() => parseAddress(seen.get('--metrics')!)).not.toThrow();
    if (seen.has('--accept-fault')) expect(FAULT_NAMES).toContain(seen.get('--accept-fault'));
    expect(seen.get('--pin-root')).toMatch(/^\/sys\/fs\/bpf\//);
    const cgroup = seen.get('--cgroup')!.replace(/\$\((\w+)\)/, (_, name: string) => agent.env.find((e: { name: string }) => e.name === name).value);
    expect(cgroup).toMatch(/^\/sys\/fs\/cgroup\/kubepods/);
  });

  it('is privileged with the node bpffs (bidirectional) and cgroup2 mounts, and sees the pods\' processes (hostPID)', () => {
    expect(agent.securityContext.privileged).toBe(true);
    expect(pod.hostPID).toBe(true);
    const volume = (path: string) => pod.volumes.find((v: { hostPath?: { path: string } }) => v.hostPath?.path === path);
    const mount = (name: string) => agent.volumeMounts.find((m: { name: string }) => m.name === name);
    expect(mount(volume('/sys/fs/bpf').name)).toMatchObject({ mountPath: '/sys/fs/bpf', mountPropagation: 'Bidirectional' });
    expect(mount(volume('/sys/fs/cgroup').name)).toMatchObject({ mountPath: '/sys/fs/cgroup' });
    expect(mount(volume('/run/bpfkit').name)).toMatchObject({ mountPath: '/run/bpfkit' });
  });

  it('probes /healthz on the metrics port and leaves time to detach on SIGTERM', () => {
    const port = parseAddress(agent.args[agent.args.indexOf('--metrics') + 1]).port;
    expect(agent.ports.find((p: { name: string }) => p.name === 'metrics').containerPort).toBe(port);
    for (const probe of [agent.readinessProbe, agent.livenessProbe]) expect(probe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(10);
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
  });
});
