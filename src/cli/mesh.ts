/**
 * `bpfkit mesh up|status|down|policy|probe`: the same-host TCP bypass agent and its
 * controls. Every check (privileges, flags, policy file) runs before anything changes.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { parseArgs } from 'node:util';
import { DEFAULT_PIN_ROOT, MeshAgent, meshDown } from '../mesh/agent.js';
import { checkPrivileges } from '../mesh/host.js';
import { MeshMaps } from '../mesh/maps.js';
import { parseAddress, serveMetrics } from '../mesh/metrics.js';
import { parsePolicy, type MeshPolicy } from '../mesh/policy.js';
import { FAULT_NAMES, probeKernel, type FaultName } from '../mesh/probe.js';
import { readState, alive } from '../mesh/state.js';
import type { Command } from './main.js';

const HELP = `usage: bpfkit mesh COMMAND [OPTIONS]

Same-host TCP bypass (sockops + sk_msg): connections between two processes of this
host skip the TCP/IP stack.

commands:
  up --cgroup PATH [--policy FILE] [--metrics ADDR|off] [--pin-root DIR]
     [--accept-fault NAME]... [--pin-links]
                      run the agent in the foreground (SIGINT/SIGTERM detach).
                      --cgroup: cgroup v2 subtree to bypass (required; the cgroup2
                      root bypasses the whole host)
                      --metrics: /metrics and /healthz address (default 127.0.0.1:9464)
                      --accept-fault: enable despite a probe fault (${FAULT_NAMES.join(', ')})
  status [--connections] [--json] [--pin-root DIR]
                      counters (summed over CPUs), agent, accepted faults
  down [--pin-root DIR] [--purge]
                      stop the agent and detach everything; bypassed sockets keep
                      working until they close. --purge also unpins the maps.
  policy FILE [--pin-root DIR]
                      apply a policy file now (also to connections already bypassed)
  probe [--json]      check this kernel for the known sockmap faults
  demo                two local services without and with the bypass, in a private
                      cgroup; prints latency, requests/s and live counters, cleans up
`;

class UsageError extends Error {}

function readPolicy(file: string): MeshPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read policy file ${file}: ${(e as Error).message}`);
  }
  try {
    return parsePolicy(text);
  } catch (e) {
    throw new UsageError(`${file}: ${(e as Error).message}`);
  }
}

function parse(args: string[], options: NonNullable<Parameters<typeof parseArgs>[0]>['options'], positionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: options ?? {}, allowPositionals: positionals > 0, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument ${parsed.positionals[positionals]}`);
  return parsed;
}

async function up(args: string[]): Promise<number> {
  const { values } = parse(args, {
    cgroup: { type: 'string' },
    policy: { type: 'string' },
    metrics: { type: 'string' },
    'pin-root': { type: 'string' },
    'accept-fault': { type: 'string', multiple: true },
    'pin-links': { type: 'boolean' },
  });
  // Every flag is validated before anything is touched.
  const accept = (values['accept-fault'] as string[] | undefined) ?? [];
  for (const f of accept) if (!(FAULT_NAMES as readonly string[]).includes(f)) throw new UsageError(`--accept-fault ${f}: unknown fault (known: ${FAULT_NAMES.join(', ')})`);
  const policy = values.policy ? readPolicy(values.policy as string) : undefined;
  const metrics = (values.metrics as string | undefined) ?? '127.0.0.1:9464';
  if (metrics !== 'off') {
    try {
      parseAddress(metrics);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  // Never the whole host by default: the cgroup2 root only when the user names it.
  if (values.cgroup === undefined) throw new UsageError('--cgroup PATH is required: the cgroup v2 subtree to bypass (name the cgroup2 mount itself, e.g. /sys/fs/cgroup, for the whole host)');
  checkPrivileges();
  const log = (line: string) => process.stdout.write(`mesh: ${line}\n`);
  const agent = await MeshAgent.start({
    cgroup: values.cgroup as string,
    pinRoot: (values['pin-root'] as string | undefined) ?? DEFAULT_PIN_ROOT,
    ...(policy && { policy }),
    acceptFaults: accept as FaultName[],
    pinLinks: values['pin-links'] === true,
    log,
  });
  let server: Server | undefined;
  try {
    if (metrics !== 'off') {
      server = await serveMetrics(
        metrics,
        () => ({ counters: agent.maps.counters(), connections: agent.maps.connections(), acceptedFaults: agent.acceptedFaults }),
        () => true,
      );
      const a = server.address() as { address: string; port: number };
      const where = `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
      agent.setMetricsAddress(where);
      log(`metrics on ${where}/metrics, health on ${where}/healthz`);
    }
  } catch (e) {
    agent.stop();
    throw e;
  }
  log(`links ${agent.linkIds().join(',')}`);
  log(`ready (pid ${process.pid})`);
  // Signal listeners do not keep Node's event loop alive; without a metrics server
  // nothing else would, and the agent (and its links) would be gone at once.
  const keepAlive = setInterval(() => {}, 1 << 30);
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  clearInterval(keepAlive);
  server?.close();
  agent.stop();
  log(`${signal}: detached`);
  return 0;
}

function pinRootOf(values: Record<string, unknown>): string {
  return (values['pin-root'] as string | undefined) ?? DEFAULT_PIN_ROOT;
}

async function status(args: string[]): Promise<number> {
  const { values } = parse(args, { connections: { type: 'boolean' }, json: { type: 'boolean' }, 'pin-root': { type: 'string' } });
  checkPrivileges();
  const pinRoot = pinRootOf(values);
  const state = readState(pinRoot);
  const agent = state && alive(state.pid) ? state : undefined;
  using maps = MeshMaps.fromPins(pinRoot);
  const counters = maps.counters();
  const connections = maps.connections();
  const report = {
    agent: agent ? { pid: agent.pid, cgroup: agent.cgroup, startedAt: agent.startedAt, metrics: agent.metrics ?? null, skbVerdict: agent.skbVerdict } : null,
    acceptedFaults: agent?.acceptedFaults ?? [],
    enabled: maps.enabled(),
    policyGeneration: maps.generation(),
    bypassedSockets: connections.filter((c) => c.state === 'redirect').length,
    counters: Object.fromEntries(Object.entries(counters).map(([k, v]) => [k, Number(v)])),
    ...(values.connections && {
      connections: connections.map((c) => ({
        ...c,
        cookie: c.cookie.toString(),
        peerCookie: c.peerCookie.toString(),
        redirectedBytes: Number(c.redirectedBytes),
        redirectedMsgs: Number(c.redirectedMsgs),
        passedBytes: Number(c.passedBytes),
        passedMsgs: Number(c.passedMsgs),
      })),
    }),
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return 0;
  }
  const lines = [
    `agent: ${agent ? `running (pid ${agent.pid}) on ${agent.cgroup}${agent.metrics ? `, metrics ${agent.metrics}` : ''}${agent.skbVerdict ? ', sk_skb workaround on' : ''}` : 'not running'}`,
    `accepted faults: ${report.acceptedFaults.length ? report.acceptedFaults.join(', ') : 'none'}`,
    `policy: ${report.enabled ? 'enabled' : 'disabled'} (generation ${report.policyGeneration})`,
    `sockets bypassed now: ${report.bypassedSockets}`,
    ...Object.entries(report.counters).map(([k, v]) => `  ${k.padEnd(18)} ${v}`),
  ];
  if (values.connections) {
    lines.push('', 'COOKIE      ROLE    STATE     LOCAL                  REMOTE                 REDIRECTED B  PASSED B');
    for (const c of connections) {
      lines.push(
        [String(c.cookie).padEnd(11), c.role.padEnd(7), c.state.padEnd(9), `${c.local}:${c.localPort}`.padEnd(22), `${c.remote}:${c.remotePort}`.padEnd(22), String(c.redirectedBytes).padStart(12), String(c.passedBytes).padStart(9)].join(' '),
      );
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

async function down(args: string[]): Promise<number> {
  const { values } = parse(args, { 'pin-root': { type: 'string' }, purge: { type: 'boolean' } });
  await meshDown(pinRootOf(values), { purge: values.purge === true, log: (l) => process.stdout.write(`mesh: ${l}\n`) });
  process.stdout.write('mesh: down (nothing attached)\n');
  return 0;
}

async function policy(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { 'pin-root': { type: 'string' } }, 1);
  if (positionals.length !== 1) throw new UsageError('usage: bpfkit mesh policy FILE');
  const p = readPolicy(positionals[0]!);
  checkPrivileges();
  using maps = MeshMaps.fromPins(pinRootOf(values));
  const generation = maps.writePolicy(p);
  process.stdout.write(`mesh: policy applied (generation ${generation})\n`);
  return 0;
}

async function probe(args: string[]): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean' } });
  checkPrivileges();
  const report = await probeKernel();
  if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else for (const f of report.findings) process.stdout.write(`${f.fault.padEnd(15)} ${f.present ? (f.fixedByWorkaround ? 'present, worked around' : 'PRESENT') : 'ok'}  ${f.detail}\n`);
  return 0;
}

async function demo(args: string[]): Promise<number> {
  parse(args, {});
  return (await import('../mesh/demo.js')).runDemo();
}

const SUBCOMMANDS: Record<string, (args: string[]) => Promise<number>> = { up, status, down, policy, probe, demo };

export const command: Command = {
  summary: 'same-host TCP bypass agent (sockops + sk_msg): up, status, down, policy, probe, demo',
  help: HELP,
  async run(args) {
    const [sub, ...rest] = args;
    const run = sub === undefined ? undefined : SUBCOMMANDS[sub];
    if (!run) {
      process.stderr.write(`bpfkit mesh: ${sub === undefined ? 'a command is needed' : `unknown command "${sub}"`}\n\n${HELP}`);
      return 2;
    }
    try {
      return await run(rest);
    } catch (e) {
      process.stderr.write(`bpfkit mesh ${sub}: ${(e as Error).message}\n`);
      return e instanceof UsageError ? 2 : 1;
    }
  },
};
