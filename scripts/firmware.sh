#!/usr/bin/env bash
# The C firmware example (examples/c/firmware/): links the embedded
# C library (libpouw_netops_c.a for thumbv7em-none-eabihf, as
# scripts/c-embedded.sh builds it) with arm-none-eabi-gcc and newlib (nano,
# semihosting) for QEMU's mps2-an386 board (Cortex-M4F), prints its sections,
# and runs it under qemu-system-arm: a supervisor and a worker pn_ops node over
# an in-memory radio, printing over semihosting; fails unless the firmware
# prints PASS and exits 0 (its status is QEMU's, through semihosting).
#   scripts/firmware.sh [LIBRARY.a]
# FIRMWARE_OUT=DIR keeps fw.elf and the run's log (fw.log) in DIR (default: a
# temporary directory, removed).
# Needs Debian's gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm
# (scripts/test.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
lib=${1:-${CARGO_TARGET_DIR:-target}/c-embedded/thumbv7em-none-eabihf/release/libpouw_netops_c.a}
for tool in arm-none-eabi-gcc qemu-system-arm; do
  command -v "$tool" >/dev/null || {
    echo "error: $tool missing (apt-get install --no-install-recommends gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)" >&2
    exit 1
  }
done
[ -f "$lib" ] || { echo "error: $lib missing: run scripts/c-embedded.sh first" >&2; exit 1; }
src=examples/c/firmware
out=${FIRMWARE_OUT:-$(mktemp -d)}
[ -n "${FIRMWARE_OUT:-}" ] || trap 'rm -rf "$out"' EXIT
elf=$out/fw.elf
# -ffunction-sections and --gc-sections keep only what the loop calls; the
# wraps count the library's heap (main.c).
arm-none-eabi-gcc -std=c99 -Os -g -Wall -Wextra -Werror \
  -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffunction-sections -fdata-sections \
  -Iinclude -I"$src" --specs=nano.specs --specs=rdimon.specs -nostartfiles -T "$src/mps2-an386.ld" \
  -Wl,--gc-sections -Wl,--no-warn-execstack -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=free \
  "$src/startup.c" "$src/main.c" "$lib" -o "$elf"
echo "firmware image (mps2-an386), bytes:"
arm-none-eabi-size -A "$elf" | awk '$1 ~ /^\.(text|ARM\.exidx|data|bss|heap|stack)$/ {printf "  %-11s %8d\n", $1, $2}'
log=$out/fw.log
status=0
timeout 120 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -kernel "$elf" >"$log" 2>&1 || status=$?
cat "$log"
if [ "$status" -ne 0 ] || ! grep -q '^PASS: ' "$log"; then
  echo "error: the firmware under QEMU failed (exit status $status)" >&2
  exit 1
fi
