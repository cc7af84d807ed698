/**
 * bpfkit's Linux backend: maps, programs and collections in the real kernel through
 * bpf(2). Needs Linux and the native addon (built by `npm ci`); import it only where the
 * kernel is the target (the pure layers never import it).
 */
export { createMap, type MapOptions, type MapBtfRef } from './map-create.js';
export { KernelMap, type KernelMapInfo, type MapBatch } from './map.js';
export { KernelProgram } from './program.js';
export { loadProgram, LogLevel, type ProgramLoadOptions, type LoadedProgram } from './program-load.js';
export { loadCollection, KernelCollection, type CollectionOptions, type AttachTargetOption } from './collection.js';
export { KernelBtf } from './btf-object.js';
export { type ValueFields } from './map-btf.js';
export { type VariableValue } from './global-data.js';
export { BpfError, VerifierError, type ErrorContext } from './errors.js';
export { RelocationError } from './relocate.js';
export { Errno, errnoName } from './errno.js';
export { NativeAddonError } from './native.js';
export { possibleCpus } from './cpus.js';
export { isPerCpu, mapKind, type MapKind } from './map-kinds.js';
export { RingBufferReader } from './ring-buffer.js';
export { KernelLink, LegacyAttachment } from './link.js';
export {
  attachCgroup,
  attachXdp,
  attachTcx,
  attachNetns,
  attachSockMap,
  attachTracing,
  attachFreplace,
  type FreplaceTarget,
  attachRawTracepoint,
  attachPerfEvent,
  attachTracepoint,
  attachNetfilter,
  attachSocketFilter,
  interfaceIndex,
} from './attach.js';
export { openPerfEvent, PerfType, PerfSoftware, type PerfEventOptions } from './perf-event.js';
export { tracepointId, tracefsRoot } from './tracefs.js';
export { autoAttach, canAutoAttach, USDT_SPECS_MAP, type AutoLink, type AutoAttachContext } from './auto-attach.js';
export { probeFeatures, probeHelper, helperProbeGaps, probeMapType, probeProgramType, minimalMapOptions, type KernelFeatures } from './features.js';
export { PerfEventArrayReader, type PerfReaderOptions } from './perf-reader.js';
export { attachUprobe, attachUprobeAt, type UprobeOptions } from './uprobe.js';
export { attachUprobeMulti, matchFunctionOffsets, type UprobeMultiOptions } from './uprobe-multi.js';
export { programBtf, programFunctionBtfId } from './program-btf.js';
export { listPrograms, listMaps, listLinks, programSummary, mapSummary, xlatedInstructions, type ProgramSummary, type MapSummary, type LinkSummary } from './inventory.js';
export { attachIterator, IteratorLink } from './iterator.js';
export { queryAttached, enableRunTimeStats, QUERY_EFFECTIVE, type AttachedPrograms } from './query.js';
export { attachStructOps, structOpsKernelType } from './struct-ops.js';
export { attachUsdt, parseUsdtArgs, encodeUsdtSpec, UsdtLink, UsdtArgKind, USDT_MAX_ARGS, type UsdtArgSpec, type UsdtOptions } from './usdt.js';
export * from './bpffs.js';
