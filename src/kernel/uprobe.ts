/**
 * uprobes and uretprobes: a perf event of the "uprobe" PMU on a file offset in an ELF
 * binary (found from a symbol with the elf layer), attached with a perf link.
 */
import { readFileSync } from 'node:fs';
import { parseElf } from '../elf/elf-file.js';
import { uprobeOffset } from '../elf/uprobe.js';
import { attachPerfEvent } from './attach.js';
import { KernelLink, closeFd } from './link.js';
import { cString } from './object-fd.js';
import { openPerfEvent } from './perf-event.js';
import type { KernelProgram } from './program.js';

const PMU_DIR = '/sys/bus/event_source/devices/uprobe';

function uprobePmu(): { type: number; retprobeBit: number } {
  let type: number;
  try {
    type = Number(readFileSync(`${PMU_DIR}/type`, 'utf8').trim());
  } catch (cause) {
    throw new Error(`this kernel has no uprobe PMU (${PMU_DIR}): CONFIG_UPROBE_EVENTS is off`, { cause });
  }
  // format/retprobe reads "config:N": the config bit that makes it a return probe.
  const format = readFileSync(`${PMU_DIR}/format/retprobe`, 'utf8').trim();
  return { type, retprobeBit: Number(format.split(':')[1] ?? 0) };
}

export interface UprobeOptions {
  /** Attach at the function's return instead of its entry. */
  retprobe?: boolean;
  /** Only this process (default: every process that runs the binary). */
  pid?: number;
  /** Extra bytes after the symbol's start. */
  offset?: number;
  /** Value bpf_get_attach_cookie() returns. */
  cookie?: bigint;
}

/** Attach a KPROBE-type program as a uprobe on `symbol` of the ELF binary or library at `path`. */
export function attachUprobe(program: KernelProgram, path: string, symbol: string, options: UprobeOptions = {}): KernelLink {
  const offset = uprobeOffset(parseElf(readFileSync(path)), symbol) + (options.offset ?? 0);
  return attachUprobeAt(program, path, offset, options, `${options.retprobe ? 'uretprobe' : 'uprobe'} ${path}:${symbol}`);
}

/** Attach a uprobe at a file offset of `path`. */
export function attachUprobeAt(program: KernelProgram, path: string, offset: number, options: UprobeOptions = {}, description = `uprobe ${path}+0x${offset.toString(16)}`): KernelLink {
  const pmu = uprobePmu();
  const pathBuffer = cString(path);
  const perfFd = openPerfEvent({
    type: pmu.type,
    config: options.retprobe ? 1n << BigInt(pmu.retprobeBit) : 0n,
    config1: pathBuffer,
    config2: BigInt(offset),
    pid: options.pid ?? -1,
    cpu: options.pid === undefined ? 0 : -1,
    samplePeriod: 1,
  });
  try {
    return attachPerfEvent(program, perfFd, options.cookie ?? 0n, description);
  } finally {
    closeFd(perfFd);
  }
}
