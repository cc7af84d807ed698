#!/usr/bin/env bash
# Installs what a fresh machine lacks for bpfkit's tests, fixtures and benchmarks:
# clang 14 and clang-19 (eBPF fixtures, -mcpu=v4), llvm-objdump/readelf (cross-checks),
# lld-19 (links aarch64 host binaries for the ELF tests, no cross toolchain needed),
# bpftool and libbpf-dev (reference peers), iproute2/iptables (network namespaces).
# Idempotent and quiet when everything is already there.
set -euo pipefail
need=()
for pkg in clang clang-19 llvm llvm-19 lld-19 bpftool libbpf-dev libelf-dev zlib1g-dev pkg-config iproute2 iptables; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
