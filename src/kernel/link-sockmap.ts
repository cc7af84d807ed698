/**
 * sk_msg and sk_skb programs attached to a sockmap or sockhash with a bpf_link
 * (BPF_LINK_TYPE_SOCKMAP, Linux 6.10+): the map fd is the link's target.
 */
import { createLink, type Link } from './link-cgroup.js';

/**
 * Attach `programFd` to the sockmap/sockhash `mapFd` (AttachType.SK_MSG_VERDICT,
 * SK_SKB_STREAM_VERDICT, ...). Closing the link removes the program from the map;
 * sockets already in the map keep the programs they were given until they leave it.
 */
export function attachSockmap(programFd: number, mapFd: number, attachType: number, mapName = 'sockmap'): Link {
  return createLink(programFd, mapFd, attachType, `program on ${mapName}`);
}
