#!/usr/bin/env bash
# The C library for microcontrollers: ffi-c with the feature
# `embedded` (no_std, the small preset, heap from the C runtime's malloc/free,
# panic = "abort"), built as a static library
#   1. for thumbv7em-none-eabihf (opt-level "s", LTO): linked with rust-lld
#      keeping every exported pn_ function, then only the pn_ops_ node loop
#      (what a worker firmware calls), with unused sections dropped; prints the
#      section sizes and fails if the node loop's .text exceeds MAX_TEXT bytes;
#      then scripts/firmware.sh links the C firmware example
#      (examples/c/firmware/) against it and runs it under QEMU (mps2-an386);
#   2. for the host: the same C node loop as the host library's cluster test
#      (tests/c/test_ops_cluster.c: seven pn_ops nodes over an in-memory network,
#      election, assignment, crash and failover, forged and replayed datagrams)
#      is compiled against it and run.
# Needs gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm for the
# firmware (scripts/test.sh installs them).
#   scripts/c-embedded.sh [--max-text BYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
max_text=""
if [ "${1:-}" = "--max-text" ]; then max_text=$2; fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/c-embedded"
target=thumbv7em-none-eabihf
build=(cargo rustc --quiet --locked -p pouw-netops-c --lib --release --no-default-features --features embedded
  --crate-type staticlib --config 'profile.release.panic="abort"' --config 'profile.release.opt-level="s"'
  --config 'profile.release.lto=true')
"${build[@]}" --target "$target"
lib=$CARGO_TARGET_DIR/$target/release/libpouw_netops_c.a
lld=$(find "$(rustc --print sysroot)/lib/rustlib" -name rust-lld -type f | head -n 1)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# shellcheck source=scripts/elf-sizes.sh
source scripts/elf-sizes.sh

# Links the archive keeping the listed symbols (malloc, free and abort are the
# firmware's C runtime's, left unresolved here) and prints its sections.
link() {
  local name=$1 syms=$2 elf=$out/$1.elf
  # shellcheck disable=SC2046
  "$lld" -flavor gnu -o "$elf" --gc-sections --entry="$(head -n 1 "$syms")" \
    $(sed 's/^/--undefined=/' "$syms") --unresolved-symbols=ignore-all "$lib"
  read -r text rodata data bss < <(section_sizes "$elf")
  printf '%-34s %8d %8d %8d %8d\n' "$name" "$text" "$rodata" "$data" "$bss"
  last_text=$text
}

nm -g --defined-only "$lib" 2>/dev/null | awk '$2 == "T" && $3 ~ /^pn_/ {print $3}' | sort -u >"$out/all"
grep -E '^pn_(ops_|result_str$|last_error_message$)' "$out/all" >"$out/node"
printf '%-34s %8s %8s %8s %8s\n' "libpouw_netops_c.a ($target)" .text .rodata .data .bss
link "every pn_ function ($(wc -l <"$out/all"))" "$out/all"
link "the node loop (pn_ops_*, $(wc -l <"$out/node"))" "$out/node"
if [ -n "$max_text" ] && [ "$last_text" -gt "$max_text" ]; then
  echo "error: the node loop's .text is $last_text bytes, over the $max_text-byte budget" >&2
  exit 1
fi
bash scripts/firmware.sh "$lib"

# The host build of the same library, and the C node loop against it.
"${build[@]}"
cc -std=c99 -O1 -Wall -Wextra -Werror -Iinclude -Itests/c tests/c/test_ops_cluster.c \
  "$CARGO_TARGET_DIR/release/libpouw_netops_c.a" -lm -o "$out/test_ops_cluster_embedded"
"$out/test_ops_cluster_embedded"
