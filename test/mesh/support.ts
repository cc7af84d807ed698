/**
 * Scratch environment for the bypass's kernel tests: a child cgroup and a bpffs pin
 * directory unique to the test file, processes started into them (the agent, test
 * peers), and teardown that kills only those processes by pid and removes everything.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/clang.js';
import { cgroup2Root } from '../../src/mesh/host.js';
import { statePath } from '../../src/mesh/state.js';

export const CLI = join(repoRoot, 'test/mesh/cli-entry.ts');
export const PEER = join(repoRoot, 'test/mesh/peer.ts');
export const NODE_TS = [process.execPath, '--import', 'tsx'];

/** A started process with its stdout lines. */
export class Proc {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  #waiters: Array<() => void> = [];

  constructor(child: ChildProcess) {
    this.child = child;
    let partial = '';
    child.stdout!.on('data', (d: Buffer) => {
      partial += d.toString();
      const parts = partial.split('\n');
      partial = parts.pop()!;
      this.lines.push(...parts);
      for (const w of this.#waiters.splice(0)) w();
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The first line matching `re` (waiting up to `ms`). */
  async line(re: RegExp, ms = 60_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      for (const l of this.lines) {
        const m = l.match(re);
        if (m) return m;
      }
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`no line matching ${re} (exit ${this.child.exitCode}); stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`);
      }
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  send(line: string): void {
    this.child.stdin!.write(line + '\n');
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/** One test file's cgroups, pins and processes. */
export class MeshEnv {
  readonly name: string;
  readonly cgroup: string;
  readonly pinRoot: string;
  readonly #procs: Proc[] = [];
  readonly #cgroups: string[] = [];
  readonly #cleanups: Array<() => void> = [];

  constructor(name: string) {
    this.name = name;
    this.cgroup = this.makeCgroup(`bpfkit-test-mesh-${name}-${process.pid}`);
    this.pinRoot = `/sys/fs/bpf/bpfkit-test-${process.pid}-${name}`;
  }

  /** A child cgroup under the cgroup2 root, removed at teardown. */
  makeCgroup(name: string): string {
    const path = join(cgroup2Root(), name);
    mkdirSync(path, { recursive: true });
    this.#cgroups.push(path);
    return path;
  }

  /** Run something at teardown (before cgroups go). */
  onCleanup(fn: () => void): void {
    this.#cleanups.push(fn);
  }

  /** Start `argv` inside `cgroup` (it moves itself in before exec), optionally in a netns. */
  spawnIn(cgroup: string, argv: string[], netns?: string): Proc {
    const inner = netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
    const child = spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...inner], { stdio: ['pipe', 'pipe', 'pipe'], cwd: repoRoot });
    const proc = new Proc(child);
    this.#procs.push(proc);
    return proc;
  }

  /** The agent on this env's cgroup and pins; resolves once it is attached. */
  async startAgent(extra: string[] = []): Promise<{ proc: Proc; linkIds: number[] }> {
    const proc = this.spawnIn(this.cgroup, [...NODE_TS, CLI, 'mesh', 'up', '--cgroup', this.cgroup, '--pin-root', this.pinRoot, '--metrics', '127.0.0.1:0', '--accept-fault', 'splice', ...extra]);
    const links = await proc.line(/^mesh: links ([\d,]+)/);
    await proc.line(/^mesh: ready/);
    return { proc, linkIds: links[1]!.split(',').map(Number) };
  }

  /** Run the CLI to completion; `prefix` runs it under another command (e.g. setpriv ...). */
  cli(args: string[], options: { prefix?: string[] } = {}): { status: number | null; stdout: string; stderr: string } {
    const argv = [...(options.prefix ?? []), ...NODE_TS, CLI, ...args];
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd: repoRoot, timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** A peer server in `cgroup`; resolves with its port. */
  async peerServer(cgroup: string, host = '127.0.0.1', netns?: string, port = 0): Promise<{ proc: Proc; port: number }> {
    const proc = this.spawnIn(cgroup, [...NODE_TS, PEER, 'server', host, '--port', String(port)], netns);
    const m = await proc.line(/^listening (\d+)/);
    return { proc, port: Number(m[1]) };
  }

  peerClient(cgroup: string, host: string, port: number, args: string[], netns?: string): Proc {
    return this.spawnIn(cgroup, [...NODE_TS, PEER, 'client', host, String(port), ...args], netns);
  }

  /** Kill our processes, detach and unpin, remove the cgroups. Never throws. */
  async cleanup(): Promise<void> {
    for (const p of this.#procs) p.kill('SIGTERM');
    await Promise.race([Promise.all(this.#procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 5000))]);
    for (const p of this.#procs) p.kill('SIGKILL');
    await Promise.all(this.#procs.map((p) => p.exited));
    for (const fn of this.#cleanups.splice(0).reverse()) {
      try {
        fn();
      } catch {
        // keep tearing down
      }
    }
    removePins(this.pinRoot);
    rmSync(statePath(this.pinRoot), { force: true });
    for (const cg of this.#cgroups.reverse()) {
      for (let i = 0; i < 50 && existsSync(cg); i++) {
        try {
          rmdirSync(cg);
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  }
}

/** Unlink everything under a pin directory (links first, so they detach). */
export function removePins(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    try {
      unlinkSync(path);
    } catch {
      removePins(path);
    }
  }
  rmdirSync(dir);
}

/** The JSON result line of a peer client. */
export async function clientResult(proc: Proc): Promise<{ ok: boolean; errors: number; frames: number; bytes: number }> {
  const m = await proc.line(/^\{.*"ok".*\}$/, 180_000);
  return JSON.parse(m[0]) as { ok: boolean; errors: number; frames: number; bytes: number };
}

/** `ip ARGS...`, its output as text. */
export const ip = (...args: string[]): string => execFileSync('ip', args, { stdio: 'pipe' }).toString();

/** Network namespaces with lo up, deleted when `env` cleans up (also after a failed set-up). */
export function addNamespaces(env: MeshEnv, names: readonly string[]): void {
  env.onCleanup(() => {
    for (const n of names) {
      try {
        ip('netns', 'del', n);
      } catch {
        // not created
      }
    }
  });
  for (const n of names) {
    ip('netns', 'add', n);
    ip('-n', n, 'link', 'set', 'lo', 'up');
  }
}

/**
 * Pods joined by a bridge, as on a Kubernetes node: namespace `node` gets br0, and each
 * pod an eth0 with `addr` whose veth peer is a port of br0. IPv6 addresses skip duplicate
 * address detection so they are usable at once.
 */
export function bridgePods(node: string, pods: ReadonlyArray<readonly [ns: string, addr: string, peer: string]>): void {
  ip('-n', node, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', node, 'link', 'set', 'br0', 'up');
  for (const [pod, addr, peer] of pods) {
    ip('-n', pod, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', peer, 'netns', node);
    ip('-n', pod, 'addr', 'add', addr, 'dev', 'eth0', ...(addr.includes(':') ? ['nodad'] : []));
    ip('-n', pod, 'link', 'set', 'eth0', 'up');
    ip('-n', node, 'link', 'set', peer, 'master', 'br0', 'up');
  }
}
