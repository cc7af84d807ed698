#!/usr/bin/env bash
# Compiles bpfkit's shipped eBPF programs (bpf/**/*.c) into the .o files committed next
# to them, so users need no clang. Reproducible: no absolute paths in debug info.
# Usage: scripts/build-bpf.sh [OUTDIR]   (OUTDIR: write objects there instead, mirroring bpf/)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/bpf}"
cd "$root/bpf"
find . -name '*.c' | sort | while read -r src; do
  rel="${src#./}"
  obj="$out/${rel%.c}.o"
  mkdir -p "$(dirname "$obj")"
  clang -target bpf -mcpu=v3 -O2 -g -Wall -Werror \
    -I/usr/include/x86_64-linux-gnu -I"$root/bpf/include" \
    -fdebug-prefix-map="$root"=. -fdebug-compilation-dir=. \
    -c "$rel" -o "$obj"
  # Drop the producer's absolute paths from DWARF-only sections; BTF keeps what it needs.
  llvm-strip -g "$obj" 2>/dev/null || true
done
