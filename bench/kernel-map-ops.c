// The libbpf peer of bench/kernel-map-ops.bench.ts: the same map operations in a C loop
// over libbpf (Debian's libbpf-dev), timed around the loop only. Prints ops (or
// entries) per second.
//
// usage: kernel-map-ops lookup|update|batch ENTRIES OPS
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
	if (argc != 4) {
		fprintf(stderr, "usage: %s lookup|update|batch ENTRIES OPS\n", argv[0]);
		return 2;
	}
	const char *op = argv[1];
	unsigned entries = strtoul(argv[2], NULL, 10);
	unsigned long ops = strtoul(argv[3], NULL, 10);
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "bench", 4, 8, entries, NULL);
	if (fd < 0) {
		perror("bpf_map_create");
		return 1;
	}
	for (unsigned k = 0; k < entries; k++) {
		unsigned long long v = k;
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY)) {
			perror("fill");
			return 1;
		}
	}
	unsigned long long value = 0, sink = 0;
	double start = now();
	if (strcmp(op, "lookup") == 0) {
		for (unsigned long i = 0; i < ops; i++) {
			unsigned key = i % entries;
			if (bpf_map_lookup_elem(fd, &key, &value)) return 1;
			sink += value;
		}
	} else if (strcmp(op, "update") == 0) {
		for (unsigned long i = 0; i < ops; i++) {
			unsigned key = i % entries;
			value = i;
			if (bpf_map_update_elem(fd, &key, &value, BPF_ANY)) return 1;
		}
	} else if (strcmp(op, "batch") == 0) {
		// ops = number of whole-map passes; reports entries per second
		unsigned *keys = malloc(entries * sizeof *keys);
		unsigned long long *values = malloc(entries * sizeof *values);
		unsigned long total = 0;
		for (unsigned long pass = 0; pass < ops; pass++) {
			unsigned long long in = 0, out = 0;
			void *inp = NULL;
			for (;;) {
				__u32 count = entries;
				int err = bpf_map_lookup_batch(fd, inp, &out, keys, values, &count, NULL);
				total += count;
				if (err) {
					if (errno == ENOENT) break;
					perror("bpf_map_lookup_batch");
					return 1;
				}
				in = out;
				inp = &in;
			}
		}
		double secs = now() - start;
		printf("%.0f\n", total / secs);
		return 0;
	} else {
		fprintf(stderr, "unknown op %s\n", op);
		return 2;
	}
	double secs = now() - start;
	printf("%.0f\n", ops / secs);
	if (sink == 42) fprintf(stderr, "\n");
	close(fd);
	return 0;
}
