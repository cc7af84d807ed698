/**
 * One entry for both backends: load an object into the Linux kernel or into bpfkit's own
 * runtime and get the same {@link Collection} API back.
 *
 * The kernel backend is imported lazily (a dynamic import, and type-only imports here),
 * so a browser bundle that only ever asks for `backend: 'vm'` never pulls in src/kernel,
 * its `node:` modules or the native addon.
 */
import type { Collection } from './api/types.js';
import { loadObjectSpec, type LoadObjectOptions } from './elf/load-object.js';
import type { ObjectSpec } from './elf/object-spec.js';
import type { CollectionOptions as KernelCollectionOptions, KernelCollection } from './kernel/collection.js';
import { createVmCollection, type VmCollection, type VmCollectionOptions } from './vm/collection.js';

/** Load into the Linux kernel (needs bpf(): root or CAP_BPF). */
export type KernelLoadOptions = KernelCollectionOptions & { backend: 'kernel' };
/** Load into bpfkit's runtime (pure: runs anywhere, no privileges). */
export type VmLoadOptions = VmCollectionOptions & { backend: 'vm' };
/** Where to load, and that backend's options. */
export type LoadCollectionOptions = KernelLoadOptions | VmLoadOptions;

/**
 * Load every map and program of `spec` into the chosen backend.
 *
 * @example
 * ```ts
 * const coll = await loadCollection(spec, { backend: 'vm' });
 * const { retval } = coll.program('xdp_prog').testRun({ data: packet });
 * ```
 * @throws the backend's load errors (the kernel's VerifierError with the whole log; the vm's VmLoadError).
 */
export async function loadCollection(spec: ObjectSpec, options: KernelLoadOptions): Promise<KernelCollection>;
export async function loadCollection(spec: ObjectSpec, options: VmLoadOptions): Promise<VmCollection>;
export async function loadCollection(spec: ObjectSpec, options: LoadCollectionOptions): Promise<Collection>;
export async function loadCollection(spec: ObjectSpec, options: LoadCollectionOptions): Promise<Collection> {
  const { backend, ...rest } = options;
  if (backend === 'vm') return createVmCollection(spec, rest as VmCollectionOptions);
  if (backend === 'kernel') {
    const kernel = await import('./kernel/collection.js');
    return kernel.loadCollection(spec, rest as KernelCollectionOptions);
  }
  throw new TypeError(`unknown backend ${String(backend)} (kernel or vm)`);
}

/** {@link loadCollection} options plus how to read the ELF object. */
export type LoadObjectFileOptions = LoadCollectionOptions & { object?: LoadObjectOptions };

/**
 * Parse an ELF object (clang's `-target bpf` output) and load it: loadObjectSpec +
 * {@link loadCollection}.
 */
export async function loadObject(bytes: Uint8Array, options: KernelLoadOptions & { object?: LoadObjectOptions }): Promise<KernelCollection>;
export async function loadObject(bytes: Uint8Array, options: VmLoadOptions & { object?: LoadObjectOptions }): Promise<VmCollection>;
export async function loadObject(bytes: Uint8Array, options: LoadObjectFileOptions): Promise<Collection>;
export async function loadObject(bytes: Uint8Array, options: LoadObjectFileOptions): Promise<Collection> {
  const { object, ...rest } = options;
  return loadCollection(loadObjectSpec(bytes, object), rest as LoadCollectionOptions);
}
