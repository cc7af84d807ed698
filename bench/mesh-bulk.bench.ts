/**
 * `npm run bench:mesh-bulk`: bulk throughput (64 KiB writes, one connection, C peers
 * from bench/mesh/rr.c) on plain TCP, redirected by the bypass, and inside the bypass's
 * cgroup but kept on TCP by policy — interleaved rounds (order rotated every round),
 * medians, raw samples and per-sample counter deltas (how many bytes were redirected
 * vs passed, fallbacks, bytes per redirected send) in bench/results/mesh-bulk.json.
 * It exists to explain why a redirected bulk flow is slower than TCP.
 *
 * Environment: ROUNDS (default 11), MIB per sample (default 256), CPUS "server,client"
 * (default "0,1"), WRITE bytes per write (default 65536), PERF=1 to print a cpu-clock
 * profile of each contender's first sample, ONLY=a,b to run a subset of the contenders.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MeshAgent } from '../src/mesh/agent.js';
import { ScratchCgroup } from '../src/mesh/cgroup.js';
import { checkPrivileges } from '../src/mesh/host.js';
import { defaultPolicy } from '../src/mesh/policy.js';
import { median, saveResults } from './lib/measure.js';

const ROUNDS = Number(process.env.ROUNDS ?? 11);
const BYTES = Number(process.env.MIB ?? 256) << 20;
const WRITE = Number(process.env.WRITE ?? 65536);
const [SERVER_CPU, CLIENT_CPU] = (process.env.CPUS ?? '0,1').split(',').map(Number) as [number, number];
type Contender = 'tcp' | 'redirect' | 'policy-tcp';
// ONLY=tcp,policy-tcp: a subset (e.g. to rule out an order effect of the redirect runs).
const CONTENDERS = (process.env.ONLY?.split(',') ?? ['tcp', 'redirect', 'policy-tcp']) as Contender[];

const here = dirname(fileURLToPath(import.meta.url));
const build = mkdtempSync(join(tmpdir(), 'bpfkit-bench-mesh-bulk-'));
const rr = join(build, 'rr');
execFileSync('cc', ['-O2', '-pthread', '-o', rr, join(here, 'mesh/rr.c')], { stdio: 'inherit' });

checkPrivileges();
const tcpCgroup = new ScratchCgroup(`bpfkit-bench-mesh-bulk-tcp-${process.pid}`);
const meshCgroup = new ScratchCgroup(`bpfkit-bench-mesh-bulk-bypass-${process.pid}`);
const pinRoot = `/sys/fs/bpf/bpfkit-bench-mesh-bulk-${process.pid}`;
const children: ChildProcess[] = [];
let agent: MeshAgent | undefined;
const inCgroup = (cg: ScratchCgroup, argv: string[]) => ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg.path, ...argv];
const cgroupOf = (c: Contender) => (c === 'tcp' ? tcpCgroup : meshCgroup);

async function startServer(cg: ScratchCgroup, port: number): Promise<void> {
  const [cmd, ...args] = inCgroup(cg, [rr, 'server', String(port), '--cpu', String(SERVER_CPU)]);
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
}

function bulk(c: Contender, port: number): number {
  const [cmd, ...args] = inCgroup(cgroupOf(c), [rr, 'bulk', '127.0.0.1', String(port), '--write', String(WRITE), '--bytes', String(BYTES), '--cpu', String(CLIENT_CPU)]);
  const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 120_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return (JSON.parse(line) as { bytes_per_s: number }).bytes_per_s;
  } catch {
    throw new Error(`bulk client failed (${r.status}): ${r.stderr}`);
  }
}

// PERF=DIR keeps the profiles there (perf-CONTENDER.data) for `perf report`.
const perfDir = process.env.PERF && process.env.PERF !== '1' ? process.env.PERF : build;

try {
  agent = await MeshAgent.start({ cgroup: meshCgroup.path, pinRoot, acceptFaults: ['splice'], log: (l) => console.log(`mesh: ${l}`) });
  const base = 30000 + (process.pid % 20000);
  const ports: Record<Contender, number> = { tcp: base, redirect: base + 1, 'policy-tcp': base + 2 };
  await startServer(tcpCgroup, ports.tcp);
  await startServer(meshCgroup, ports.redirect);
  await startServer(meshCgroup, ports['policy-tcp']);
  agent.applyPolicy({ ...defaultPolicy(), excludePorts: [{ first: ports['policy-tcp'], last: ports['policy-tcp'] }] });
  console.log(`rounds ${ROUNDS}, ${BYTES >> 20} MiB per sample, ${WRITE} B writes, server CPU ${SERVER_CPU}, client CPU ${CLIENT_CPU}`);

  const samples = Object.fromEntries(CONTENDERS.map((c) => [c, [] as number[]])) as Record<Contender, number[]>;
  const counters: Array<Record<string, number>> = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = CONTENDERS.map((_, i) => CONTENDERS[(i + r) % CONTENDERS.length]!);
    for (const c of order) {
      const before = agent.maps.counters();
      // PERF=1: a cpu-clock profile (no PMU here) of the contender's cgroup during its first sample.
      const perf = process.env.PERF && r === 0 ? spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-a', '-G', cgroupOf(c).path.split('/').pop()!, '-g', '-o', join(perfDir, `perf-${c}.data`)], { stdio: 'ignore' }) : undefined;
      if (perf) await new Promise((res) => setTimeout(res, 500));
      samples[c].push(bulk(c, ports[c]));
      if (perf) {
        perf.kill('SIGINT');
        await new Promise((res) => perf.once('exit', res));
        const report = spawnSync('perf', ['report', '-i', join(perfDir, `perf-${c}.data`), '--no-children', '--sort', 'sym', '--stdio', '-g', 'none', '--percent-limit', process.env.PERF_LIMIT ?? '1'], { encoding: 'utf8' });
        console.log(`--- perf (${c}) ---\n${report.stdout.split('\n').filter((l) => /%/.test(l)).join('\n')}`);
      }
      const after = agent.maps.counters();
      if (c === 'redirect') {
        const d = (k: keyof typeof after) => Number(after[k] - before[k]);
        counters.push({ redirected_bytes: d('redirected_bytes'), redirected_msgs: d('redirected_msgs'), passed_bytes: d('passed_bytes'), fallbacks: d('fallbacks') });
      }
    }
    console.log(`round ${r + 1}: ${CONTENDERS.map((c) => `${c} ${(samples[c][r]! / 1e9).toFixed(2)}`).join('  ')} GB/s`);
  }
  const medians = Object.fromEntries(CONTENDERS.map((c) => [c, median(samples[c])])) as Record<Contender, number>;
  for (const c of CONTENDERS) console.log(`${c.padEnd(11)} median ${(medians[c] / 1e9).toFixed(2)} GB/s (${((medians[c] / medians[CONTENDERS[0]!] - 1) * 100).toFixed(1)}% vs ${CONTENDERS[0]})`);
  // Paired per round: less exposed to the machine's load drifting between rounds.
  const first = CONTENDERS[0]!;
  for (const c of CONTENDERS.slice(1)) {
    const ratios = samples[c].map((x, i) => x / samples[first][i]!);
    console.log(`${c} / ${first} per round: median ${median(ratios).toFixed(3)}, ahead in ${ratios.filter((x) => x > 1).length} of ${ratios.length}`);
  }
  if (counters.length) {
    const redirectedShare = median(counters.map((k) => k.redirected_bytes! / (k.redirected_bytes! + k.passed_bytes!)));
    const perSend = median(counters.map((k) => k.redirected_bytes! / Math.max(1, k.redirected_msgs!)));
    console.log(`redirect samples: median ${(redirectedShare * 100).toFixed(1)}% of bytes redirected, ${perSend.toFixed(0)} B per redirected send, fallbacks ${counters.map((k) => k.fallbacks).join(',')}`);
  }
  saveResults('mesh-bulk', { rounds: ROUNDS, bytes: BYTES, write: WRITE, cpus: [SERVER_CPU, CLIENT_CPU], samples, medians, counters });
} finally {
  agent?.stop();
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  rmSync(pinRoot, { recursive: true, force: true });
  tcpCgroup.close();
  meshCgroup.close();
  rmSync(build, { recursive: true, force: true });
}
