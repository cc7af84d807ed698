/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Shared layout of the same-host TCP bypass maps. src/mesh/layout.ts mirrors these
 * structs byte for byte; a test checks the mirror against this object's BTF.
 */
#ifndef BPFKIT_MESH_H
#define BPFKIT_MESH_H

#include <linux/types.h>

#define MESH_MAX_CONNS 65536
#define MESH_MAX_PORT_RANGES 16

/* Pairing key: both ends of one TCP handshake compute the same key after it completes.
 * The sequence numbers (client ISN+1, server ISN+1) are chosen by the kernel at random,
 * so the pair names one connection whatever NAT did to the addresses: a socket is paired
 * with the socket the kernel actually connected it to. */
struct mesh_pair_key {
	__u32 client_next_seq;
	__u32 server_next_seq;
	__u32 client_port;
	__u32 pad;
};

enum mesh_conn_state {
	MESH_CONN_PENDING = 0,	/* client side, peer not known yet */
	MESH_CONN_REDIRECT = 1,	/* paired: sends go straight to the peer */
	MESH_CONN_TCP = 2,	/* on the normal path for good (never switch back: ordering) */
	MESH_CONN_PICKED = 3,	/* paired after the fact (connected before the agent): each
				 * direction redirects once nothing of it is in flight or
				 * unread, so no redirected byte overtakes a TCP one */
};

enum mesh_role {
	MESH_ROLE_CLIENT = 1,
	MESH_ROLE_SERVER = 2,
};

/* One bypassed socket, keyed by its socket cookie. */
struct mesh_conn {
	__u64 peer_cookie;	/* 0 while pending */
	__u32 state;		/* enum mesh_conn_state */
	__u32 role;		/* enum mesh_role */
	__u32 family;		/* AF_INET or AF_INET6 (v4-mapped addresses count as AF_INET) */
	__u32 local_port;	/* host order */
	__u32 remote_port;	/* host order */
	__u32 policy_generation;/* mesh_config.generation the verdict below was made with */
	__u32 allowed;		/* policy verdict for this connection */
	__u32 flags;		/* MESH_CONN_F_* */
	__u32 local_ip[4];	/* network order; IPv4 in [0] */
	__u32 remote_ip[4];
	/* Kernel addresses of this socket's and the peer's psock (struct sk_psock), read
	 * with bpf_probe_read_kernel only: sk_msg programs cannot hold a reference to the
	 * peer socket, and the redirect must know how much the peer has not read yet. */
	__u64 own_psock;
	__u64 peer_psock;
	/* This socket's sends, counted by its own sk_msg program. Sends on one socket run
	 * one at a time (under its lock), so plain adds in the record the program already
	 * holds are exact; a per-CPU map would cost a lookup per send (measured ~50 ns, a
	 * point and a half of same-CPU round-trip latency) and buy nothing. */
	__u64 redirected_bytes;
	__u64 redirected_msgs;
	__u64 passed_bytes;
	__u64 passed_msgs;
};

/* mesh_conn.flags */
#define MESH_CONN_F_PICKED 1	/* taken in by the agent's scan, not by sockops: lives in
				 * mesh_picked_socks, and has no close callback, so the agent
				 * sweeps the record once the socket has left that map */
#define MESH_CONN_F_TCP_SENT 2	/* a picked socket has sent on TCP since it was taken in */

/* What the agent's scan (iter/bpf_sk_storage_map over mesh_scan_socks) reports of one
 * socket. The handshake's sequence numbers come back from the byte counters:
 * rcv_nxt - bytes_received is the peer's first sequence number after its SYN, and
 * snd_una - bytes_acked is this socket's own ISN on the client (the SYN-ACK counts as one
 * acked byte there) but ISN+1 on the server (its child socket starts with the SYN acked).
 * So client C and server S of one connection satisfy
 *   S.peer_next_seq == C.acked_base_seq + 1  and  C.peer_next_seq == S.acked_base_seq,
 * which names both the pair and who is the client, whatever NAT did to the addresses. */
struct mesh_scan_record {
	__u64 cookie;
	__u64 psock;		/* this socket's psock, once it sits in the sockhash */
	__u32 tcp_state;	/* TCP_ESTABLISHED = 1 */
	__u32 is_mptcp;
	__u32 acked_base_seq;	/* snd_una - bytes_acked */
	__u32 peer_next_seq;	/* rcv_nxt - bytes_received */
};

struct mesh_port_range {
	__u16 first;
	__u16 last;
};

/* Run-time policy, one element. User space bumps `generation` on every change so
 * connections that are already bypassed re-evaluate their verdict. */
struct mesh_config {
	__u32 enabled;
	__u32 generation;
	__u32 include_port_count;	/* 0: every port */
	__u32 exclude_port_count;
	__u32 has_include_cidrs;	/* 0: every address */
	__u32 pad;
	struct mesh_port_range include_ports[MESH_MAX_PORT_RANGES];
	struct mesh_port_range exclude_ports[MESH_MAX_PORT_RANGES];
};

/* CIDR policy: an LPM trie over IPv6 addresses; IPv4 is stored v4-mapped (::ffff:a.b.c.d,
 * prefix length + 96), so one trie serves both families. */
struct mesh_cidr_key {
	__u32 prefixlen;
	__u8 addr[16];
};

enum mesh_cidr_action {
	MESH_CIDR_INCLUDE = 1,
	MESH_CIDR_EXCLUDE = 2,
};

/* Global counters, per CPU; user space sums them. */
enum mesh_stat {
	MESH_STAT_REDIRECTED_MSGS = 0,
	MESH_STAT_REDIRECTED_BYTES,
	MESH_STAT_PASSED_MSGS,		/* sends that took the normal path */
	MESH_STAT_PASSED_BYTES,
	MESH_STAT_MISSES,		/* send on a socket with no connection record */
	MESH_STAT_FALLBACKS,		/* connection moved to the normal path */
	MESH_STAT_INSERTED,		/* sockets put in the sockhash */
	MESH_STAT_PAIRED,		/* connections paired */
	MESH_STAT_UNPAIRED_REMOVED,	/* client sockets removed: no local peer showed up */
	MESH_STAT_POLICY_SKIPPED,	/* connections the policy kept out */
	MESH_STAT_MPTCP_SKIPPED,
	MESH_STAT_CLOSED,
	MESH_STAT_INSERT_FAILED,
	MESH_STAT_REMOVAL_DEFERRED,	/* unpaired socket kept: its queue held unread bytes */
	MESH_STAT_MAX,
};

/* mesh_stats has room for counters added later: a pinned map keeps its size across agent
 * versions, and an upgrade must be able to reuse it. */
#define MESH_STAT_SLOTS 32


#endif
