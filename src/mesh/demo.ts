/**
 * `bpfkit mesh demo`: on a fresh machine, with no configuration, show what the bypass
 * does. Two local services (an echo server and a client) run in a private child cgroup,
 * first over plain TCP, then with the bypass attached to that cgroup, interleaved; the
 * demo prints latency, requests/s and throughput for both and the live counters, and
 * removes everything it made (links, pins, cgroups, processes) whatever happens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MeshAgent } from './agent.js';
import { ScratchCgroup } from './cgroup.js';
import { checkPrivileges } from './host.js';
import { FAULT_NAMES } from './probe.js';

const ROUNDS = 5;

/** The peer script next to this module (.ts from source, .js once built), run with the same loader. */
function peerCommand(args: string[]): string[] {
  const self = fileURLToPath(import.meta.url);
  return [process.execPath, ...process.execArgv, self.replace(/demo\.(ts|js)$/, 'demo-peer.$1'), ...args];
}

function runIn(cgroup: ScratchCgroup, args: string[], children: ChildProcess[]): { child: ChildProcess; line: Promise<string> } {
  const argv = peerCommand(args);
  const child = spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup.path, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const line = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`demo peer ${args[0]} exited (${code}) before answering`)));
  });
  return { child, line };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** Run the demo; `out` prints a line. Returns the process exit code. */
export async function runDemo(out: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<number> {
  checkPrivileges();
  const children: ChildProcess[] = [];
  const tcp = new ScratchCgroup(`bpfkit-demo-tcp-${process.pid}`);
  const bypass = new ScratchCgroup(`bpfkit-demo-bypass-${process.pid}`);
  const pinRoot = `/sys/fs/bpf/bpfkit-demo-${process.pid}`;
  let agent: MeshAgent | undefined;
  try {
    out('bpfkit mesh demo: two local services, plain TCP vs the same-host bypass (sockops + sk_msg)');
    out(`probing the kernel and attaching the bypass to a private cgroup (${bypass.path}) ...`);
    // A demo shows the bypass on whatever kernel it finds: faults are accepted and named.
    agent = await MeshAgent.start({ cgroup: bypass.path, pinRoot, acceptFaults: FAULT_NAMES, log: (l) => l.startsWith('probe') && l.includes('present') && out(`  ${l}`) });
    if (agent.acceptedFaults.length) out(`  (this kernel has: ${agent.acceptedFaults.join(', ')} — accepted for the demo; "bpfkit mesh up" refuses unless --accept-fault)`);
    const servers = {
      tcp: Number(JSON.parse(await runIn(tcp, ['server'], children).line).port),
      bypass: Number(JSON.parse(await runIn(bypass, ['server'], children).line).port),
    };
    const tests = [
      { name: 'latency, 64 B request/response, 1 connection', args: ['64', '1', '5000'], key: 'p50_us', unit: 'µs p50', better: 'lower' },
      { name: 'requests/s, 64 B, 50 connections', args: ['64', '50', '400'], key: 'rps', unit: 'req/s', better: 'higher' },
      { name: 'latency, 16 KiB request/response, 1 connection', args: ['16384', '1', '2000'], key: 'p50_us', unit: 'µs p50', better: 'lower' },
    ] as const;
    out(`\n${ROUNDS} interleaved rounds each, medians:`);
    for (const t of tests) {
      const samples = { tcp: [] as number[], bypass: [] as number[] };
      for (let r = 0; r < ROUNDS; r++) {
        for (const path of (r % 2 ? ['bypass', 'tcp'] : ['tcp', 'bypass']) as Array<'tcp' | 'bypass'>) {
          const res = JSON.parse(await runIn(path === 'tcp' ? tcp : bypass, ['rr', String(servers[path]), ...t.args], children).line) as Record<string, number>;
          samples[path].push(res[t.key]!);
        }
      }
      const a = median(samples.tcp);
      const b = median(samples.bypass);
      out(`  ${t.name.padEnd(48)} TCP ${a.toFixed(1).padStart(9)}  bypass ${b.toFixed(1).padStart(9)} ${t.unit}  (${((b / a - 1) * 100).toFixed(0)}%)`);
      const c = agent.maps.counters();
      out(`    live counters: ${c.redirected_msgs} sends / ${c.redirected_bytes} bytes redirected, ${c.paired} connections paired, ${c.fallbacks} fallbacks`);
    }
    const c = agent.maps.counters();
    out(`\nthe bypass redirected ${c.redirected_bytes} bytes in ${c.redirected_msgs} sends; sockets outside its cgroup were never touched.`);
    out('cleaning up: links closed, pins removed, cgroups removed.');
    return 0;
  } finally {
    agent?.stop();
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(children.map((ch) => (ch.exitCode === null && ch.signalCode === null ? new Promise((r) => ch.once('exit', r)) : undefined)));
    rmSync(pinRoot, { recursive: true, force: true });
    tcp.close();
    bypass.close();
  }
}
