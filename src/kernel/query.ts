/**
 * What is attached where (BPF_PROG_QUERY) and run-time statistics (BPF_ENABLE_STATS).
 */
import { openSync, closeSync } from 'node:fs';
import { BpfCmd, EnableStatsAttr, ProgQueryAttr } from './bpf-attr.js';
import { BpfError } from './errors.js';
import { OwnedFd } from './fd.js';
import { readField, readField64, stableBuffer } from './layout.js';
import { tryBpf } from './syscall.js';

/** BPF_F_QUERY_EFFECTIVE: include programs inherited from ancestor cgroups. */
export const QUERY_EFFECTIVE = 1;

export interface AttachedPrograms {
  programIds: number[];
  /** Link ids, in the same order; 0 where the kernel does not report one (legacy attachments; cgroups on 6.18). */
  linkIds: number[];
  /** The attach point's revision (tcx, and cgroups on 6.12+), 0n when not reported. */
  revision: bigint;
}

/**
 * Programs attached at `target` with `attachType`: a cgroup directory path (or fd), or a
 * network device's ifindex for tcx/xdp.
 */
export function queryAttached(target: string | number, attachType: number, flags = 0, capacity = 64): AttachedPrograms {
  const fd = typeof target === 'string' ? openSync(target, 'r') : target;
  try {
    const progIds = stableBuffer(capacity * 4);
    const linkIds = stableBuffer(capacity * 4);
    const outcome = tryBpf(BpfCmd.PROG_QUERY, ProgQueryAttr, {
      target_fd: fd,
      attach_type: attachType,
      query_flags: flags,
      prog_ids: progIds,
      prog_cnt: capacity,
      link_ids: linkIds,
    });
    if (outcome.result < 0) throw new BpfError('PROG_QUERY', -outcome.result, { subject: String(target) });
    const count = Math.min(readField(ProgQueryAttr, outcome.attr, 'prog_cnt'), capacity);
    return {
      programIds: [...new Uint32Array(progIds.buffer, 0, count)],
      linkIds: [...new Uint32Array(linkIds.buffer, 0, count)],
      revision: readField64(ProgQueryAttr, outcome.attr, 'revision'),
    };
  } finally {
    if (typeof target === 'string') closeSync(fd);
  }
}

/** BPF_STATS_RUN_TIME */
const STATS_RUN_TIME = 0;

/**
 * Turn on run-count and run-time accounting for every program (program info's runCount
 * and runTimeNs) until the returned handle is closed.
 */
export function enableRunTimeStats(): OwnedFd {
  const outcome = tryBpf(BpfCmd.ENABLE_STATS, EnableStatsAttr, { type: STATS_RUN_TIME });
  if (outcome.result < 0) throw new BpfError('ENABLE_STATS', -outcome.result);
  return new OwnedFd(outcome.result);
}
