#!/usr/bin/env bash
# Builds the no_std firmware probe (size-probe/) for thumbv7em-none-eabihf with
# and without the `alloc` feature and prints its section sizes in bytes; the
# `no-alloc+auth` row adds the authentication layer (size-probe feature `auth`),
# and the last line is its .text cost over the plain no-alloc build.
#   scripts/size-probe.sh [--max-text BYTES]   fail if the no-alloc .text exceeds BYTES
set -euo pipefail
cd "$(dirname "$0")/.."
target=thumbv7em-none-eabihf
max_text=""
if [ "${1:-}" = "--max-text" ]; then max_text=$2; fi

section_sizes() {
  # Sums the sizes of allocated sections by kind from the ELF section headers.
  local text=0 rodata=0 data=0 bss=0 name size
  while read -r name size; do
    case $name in
      .text*) text=$((text + 16#$size)) ;;
      .rodata*) rodata=$((rodata + 16#$size)) ;;
      .data*) data=$((data + 16#$size)) ;;
      .bss*) bss=$((bss + 16#$size)) ;;
    esac
  done < <(readelf -S -W "$1" | sed -n 's/^ *\[ *[0-9]*\] *//p' | awk '{print $1, $5}')
  echo "$text $rodata $data $bss"
}

printf '%-28s %8s %8s %8s %8s\n' build .text .rodata .data .bss
for variant in no-alloc no-alloc+auth alloc; do
  features=()
  [ "$variant" = alloc ] && features=(--features alloc)
  [ "$variant" = no-alloc+auth ] && features=(--features auth)
  cargo build --quiet --release --manifest-path size-probe/Cargo.toml --target "$target" "${features[@]}"
  elf=size-probe/target/$target/release/size-probe
  read -r text rodata data bss < <(section_sizes "$elf")
  printf '%-28s %8d %8d %8d %8d\n' "crash-recovery/$variant" "$text" "$rodata" "$data" "$bss"
  [ "$variant" = no-alloc ] && plain_text=$text && plain_rodata=$rodata
  [ "$variant" = no-alloc+auth ] && auth_text=$((text - plain_text)) && auth_rodata=$((rodata - plain_rodata))
  if [ "$variant" = no-alloc ] && [ -n "$max_text" ] && [ "$text" -gt "$max_text" ]; then
    echo "error: .text of the no-alloc probe is $text bytes, over the $max_text-byte budget" >&2
    exit 1
  fi
done
echo "auth layer (no-alloc): +$auth_text bytes .text, +$auth_rodata bytes .rodata"
