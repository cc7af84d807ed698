/**
 * Attaching the bypass with bpf_links: programs on the sockhashes first (a socket picks
 * up the map's programs when it is inserted, so they must be there before sock_ops
 * starts inserting), then sock_ops on the cgroup.
 */
import type { KernelCollection } from '../kernel/collection.js';
import { attachCgroup, attachSockMap } from '../kernel/attach.js';
import type { KernelLink } from '../kernel/link.js';
import { AttachType } from '../uapi/index.js';
import { MeshPrograms } from './object.js';

export interface MeshLinks {
  /** Link name (also its pin name) → link. */
  readonly links: ReadonlyMap<string, KernelLink>;
}

/** Link names, used as pin file names under `<pinRoot>/links/`. */
export const LinkNames = { redirect: 'sk_msg', redirectPicked: 'sk_msg_picked', skbVerdict: 'sk_skb_stream_verdict', sockops: 'sock_ops' } as const;

/**
 * Attach the bypass. `skbVerdict`: also attach the no-op stream verdict (the FIONREAD
 * workaround the startup probe asks for). On failure nothing stays attached.
 */
export function attachMesh(collection: KernelCollection, cgroupPath: string, options: { skbVerdict: boolean }): Map<string, KernelLink> {
  const links = new Map<string, KernelLink>();
  const socks = collection.map('mesh_socks');
  try {
    links.set(LinkNames.redirect, attachSockMap(collection.program(MeshPrograms.redirect), socks, AttachType.SK_MSG_VERDICT));
    // Connections taken in after they connected: the redirect only, never a stream verdict.
    links.set(LinkNames.redirectPicked, attachSockMap(collection.program(MeshPrograms.redirect), collection.map('mesh_picked_socks'), AttachType.SK_MSG_VERDICT));
    if (options.skbVerdict) {
      links.set(LinkNames.skbVerdict, attachSockMap(collection.program(MeshPrograms.skbVerdict), socks, AttachType.SK_SKB_STREAM_VERDICT));
    }
    links.set(LinkNames.sockops, attachCgroup(collection.program(MeshPrograms.sockops), cgroupPath, AttachType.CGROUP_SOCK_OPS));
    return links;
  } catch (e) {
    for (const l of [...links.values()].reverse()) l.close();
    throw e;
  }
}
