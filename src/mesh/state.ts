/**
 * The running agent's record, so `status` and `down` in another process can find it:
 * its pid, cgroup, probe findings and accepted faults. bpffs holds only bpf objects, so
 * the record lives under /run, one file per pin root.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FaultName, ProbeFinding } from './probe.js';

export const STATE_DIR = '/run/bpfkit/mesh';

export interface AgentState {
  pid: number;
  cgroup: string;
  pinRoot: string;
  startedAt: string;
  skbVerdict: boolean;
  acceptedFaults: FaultName[];
  findings: ProbeFinding[];
  metrics?: string;
  pinnedLinks: boolean;
}

export function statePath(pinRoot: string): string {
  return join(STATE_DIR, `${resolve(pinRoot).replace(/\//g, '_')}.json`);
}

export function writeState(state: AgentState): void {
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(statePath(state.pinRoot), JSON.stringify(state, null, 2) + '\n');
}

/** The recorded agent for `pinRoot`, if its file exists. */
export function readState(pinRoot: string): AgentState | undefined {
  try {
    return JSON.parse(readFileSync(statePath(pinRoot), 'utf8')) as AgentState;
  } catch {
    return undefined;
  }
}

export function removeState(pinRoot: string, pid?: number): void {
  const state = readState(pinRoot);
  // Only the agent that wrote the record removes it (a newer agent may have replaced it).
  if (pid !== undefined && state && state.pid !== pid) return;
  rmSync(statePath(pinRoot), { force: true });
}

/** Is process `pid` alive? A zombie (exited, not yet reaped by its parent) is not. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
