# Sourced by scripts/size-probe.sh and scripts/c-embedded.sh: the section sizes
# both print for their embedded builds.

# Prints "TEXT RODATA DATA BSS": the sizes in bytes of the allocated sections
# of ELF file $1, summed by kind from its section headers.
section_sizes() {
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
