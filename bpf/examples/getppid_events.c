// SPDX-License-Identifier: (MIT OR GPL-2.0)
// The README's kernel example: counts getppid() calls per process in a hash map and
// reports every `report_every`-th call on a ring buffer. A `const volatile` in .rodata
// is set from TypeScript before load.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct event {
	__u32 pid;
	__u32 calls;
};
/* Keeps `struct event` in the object's BTF, so user space can decode records by name. */
const struct event *unused_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

const volatile __u32 report_every = 1;

SEC("tracepoint/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32, one = 1;
	__u32 *n = bpf_map_lookup_elem(&calls, &pid);

	if (!n) {
		bpf_map_update_elem(&calls, &pid, &one, BPF_NOEXIST);
		n = &one;
	} else {
		__sync_fetch_and_add(n, 1);
	}
	if (*n % report_every == 0) {
		struct event e = { .pid = pid, .calls = *n };

		bpf_ringbuf_output(&events, &e, sizeof(e), 0);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
