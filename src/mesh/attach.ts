/**
 * Attaching the bypass with bpf_links: programs on the sockhash first (a socket picks
 * up the map's programs when it is inserted, so they must be there before sock_ops
 * starts inserting), then sock_ops on the cgroup.
 */
import type { KernelCollection } from '../kernel/collection.js';
import { attachCgroup, type Link } from '../kernel/link-cgroup.js';
import { attachSockmap } from '../kernel/link-sockmap.js';
import { AttachType } from '../uapi/index.js';
import { MeshPrograms } from './object.js';

export interface MeshLinks {
  /** Link name (also its pin name) → link. */
  readonly links: ReadonlyMap<string, Link>;
}

/** Link names, used as pin file names under `<pinRoot>/links/`. */
export const LinkNames = { redirect: 'sk_msg', skbVerdict: 'sk_skb_stream_verdict', sockops: 'sock_ops' } as const;

/**
 * Attach the bypass. `skbVerdict`: also attach the no-op stream verdict (the FIONREAD
 * workaround the startup probe asks for). On failure nothing stays attached.
 */
export function attachMesh(collection: KernelCollection, cgroupPath: string, options: { skbVerdict: boolean }): Map<string, Link> {
  const links = new Map<string, Link>();
  const socks = collection.map('mesh_socks');
  try {
    links.set(LinkNames.redirect, attachSockmap(collection.program(MeshPrograms.redirect).fd, socks.fd, AttachType.SK_MSG_VERDICT, 'mesh_socks'));
    if (options.skbVerdict) {
      links.set(LinkNames.skbVerdict, attachSockmap(collection.program(MeshPrograms.skbVerdict).fd, socks.fd, AttachType.SK_SKB_STREAM_VERDICT, 'mesh_socks'));
    }
    links.set(LinkNames.sockops, attachCgroup(collection.program(MeshPrograms.sockops).fd, cgroupPath, AttachType.CGROUP_SOCK_OPS));
    return links;
  } catch (e) {
    for (const l of [...links.values()].reverse()) l.close();
    throw e;
  }
}
