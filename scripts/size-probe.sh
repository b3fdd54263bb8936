#!/usr/bin/env bash
# Builds the no_std firmware probe (size-probe/) for thumbv7em-none-eabihf and
# prints its section sizes in bytes, for three builds (docs/embedded.md):
#   crash-recovery       the small crash-recovery manager alone, no allocator
#   worker               a worker node's managers without alloc (crash recovery,
#                        election, workers, mesh), in statics: .bss is their RAM
#   worker+auth          the small-preset coordinator as a worker node (it
#                        authenticates every message), with alloc; .bss holds
#                        the 96 KiB heap arena (the peak budget)
# plus crash-recovery+auth, whose .text over crash-recovery is the
# authentication layer's flash cost. Then the heap each build uses (none without
# alloc; the coordinator's measured on the host by harness/tests/ram_budget.rs,
# 64-bit bytes, an upper bound for a 32-bit target).
#   scripts/size-probe.sh [--max-text BYTES] [--no-heap]
#     --max-text: fail if the crash-recovery .text exceeds BYTES
#     --no-heap:  skip the host heap measurement (about a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
target=thumbv7em-none-eabihf
max_text=""
heap=1
while [ $# -gt 0 ]; do
  case $1 in
    --max-text) max_text=$2; shift 2 ;;
    --no-heap) heap=""; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=scripts/elf-sizes.sh
source scripts/elf-sizes.sh

printf '%-22s %8s %8s %8s %8s\n' build .text .rodata .data .bss
for variant in crash-recovery crash-recovery+auth worker worker+auth; do
  features=()
  case $variant in
    crash-recovery+auth) features=(--features auth) ;;
    worker) features=(--features worker) ;;
    worker+auth) features=(--features node) ;;
  esac
  cargo build --quiet --release --manifest-path size-probe/Cargo.toml --target "$target" "${features[@]}"
  elf=${CARGO_TARGET_DIR:-size-probe/target}/$target/release/size-probe
  read -r text rodata data bss < <(section_sizes "$elf")
  printf '%-22s %8d %8d %8d %8d\n' "$variant" "$text" "$rodata" "$data" "$bss"
  [ "$variant" = crash-recovery ] && plain_text=$text && plain_rodata=$rodata
  [ "$variant" = crash-recovery+auth ] && auth_text=$((text - plain_text)) && auth_rodata=$((rodata - plain_rodata))
  if [ "$variant" = crash-recovery ] && [ -n "$max_text" ] && [ "$text" -gt "$max_text" ]; then
    echo "error: .text of the crash-recovery probe is $text bytes, over the $max_text-byte budget" >&2
    exit 1
  fi
done
echo "auth layer (no-alloc): +$auth_text bytes .text, +$auth_rodata bytes .rodata"

if [ -n "$heap" ]; then
  echo "heap high-water marks (host, 64-bit; crash-recovery and worker builds use no heap):"
  # The test fails if the worker node exceeds 64 KiB steady or 96 KiB at peak.
  if ! out=$(cargo test --quiet --locked -p pouw-netops-harness --test ram_budget -- --nocapture --test-threads 1 2>&1); then
    echo "$out" | tail -30 >&2
    echo "error: the heap budget test failed" >&2
    exit 1
  fi
  echo "$out" | grep -o 'small .* B$' | sed 's/^/  /'
fi
