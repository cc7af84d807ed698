/**
 * bpfkit's own eBPF runtime: an interpreter with the kernel's semantics, maps, helpers and
 * program contexts, loading the same ObjectSpec as the kernel backend. Pure TypeScript:
 * runs in Node and in browsers.
 */
export { VmRuntime, type VmRuntimeOptions, type LoadOptions } from './runtime.js';
export { Machine, DEFAULT_INSTRUCTION_BUDGET, type RunInput, type RunState } from './interpreter.js';
export { createVmCollection, VmCollection, VmProgram, type VmCollectionOptions } from './collection.js';
export { VmFault, VmLimitError, VmLoadError, VmErrnoError, Errno, type FaultKind, type LimitKind } from './errors.js';
export { AddressSpace, Region, REGION_BASE, type RegionKind, type Pointer, type ContextAccess } from './memory.js';
export { loadProgram, MAX_BPF_STACK, MAX_CALL_FRAMES, MAX_TAIL_CALL_CNT, type LoadedProgram } from './program.js';
export { defaultEnvironment, type VmEnvironment, type VmTask, type ProbeMemory } from './environment.js';
export { helpersFor, helperName } from './helpers/table.js';
export type { HelperFn, HelperTable } from './helpers/helper.js';
export type { VmMap } from './maps/vm-map.js';
export { RingBufferMap } from './maps/ring-buffer-map.js';
export { PerfEventArrayMap } from './maps/perf-event-array-map.js';
export { RecordQueue } from './maps/record-queue.js';
export { runConformanceTest, vmConformanceBackend, summaryLine, refusedLine, type ConformanceBackend, type ConformanceResult, type BackendOutcome, type RefusalCategory } from './conformance.js';
export { SocketSimulation, type SendResult } from './sockets/socket-simulation.js';
export { SimSocket, TcpState, AF_INET, AF_INET6, type SimSocketOptions } from './sockets/sim-socket.js';
export { KernelSocket, kernelSocketLayout, LOCAL_MESH_LAYOUT, type KernelSocketLayout } from './sockets/kernel-socket.js';
export { SockOpsOp } from './contexts/sock-ops.js';
export { testRunProgram, runOnContext } from './test-run.js';
export type { RunOnContextOptions } from './test-run.js';
export { TracepointContext, TRACE_ENTRY_SIZE, PERF_MAX_TRACE_SIZE } from './contexts/tracepoint.js';
export { RawTracepointContext, rawTracepointArgs, MAX_RAW_TP_ARGS } from './contexts/raw-tracepoint.js';
export { KprobeContext, PtRegs, ptRegs, PT_REGS_SIZE, type PtReg } from './contexts/pt-regs.js';
export { PerfEventContext, PerfEventData, perfEventData, PERF_EVENT_DATA_SIZE, type PerfEventSample, type PerfEventValue } from './contexts/perf-event-data.js';
export { SharedHashMap } from './maps/shared-hash-map.js';
