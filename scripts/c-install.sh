#!/usr/bin/env bash
# Builds the C library of pouw-netops (release, default features) and installs
# it under PREFIX the way cargo-c's `cinstall` lays it out:
#
#   PREFIX/include/pouw_netops.h, pouw_netops_operator.h
#   PREFIX/lib/pkgconfig/pouw_netops.pc
#   shared (default):  PREFIX/lib/libpouw_netops.so.X.Y.Z, with SONAME
#                      libpouw_netops.so.<abi> and the links .so.<abi> and .so
#   --static:          PREFIX/lib/libpouw_netops.a
#
#   scripts/c-install.sh [--static] PREFIX
#
# <abi> is the major version, or 0.MINOR while the major version is 0 (in 0.x
# every minor release may break the ABI). Install the shared and the static
# library into different prefixes: pkg-config cannot make `--static` prefer the
# archive when a .so of the same name sits next to it, so in a prefix holding
# both, `pkg-config --static` flags link the .so.
set -euo pipefail
cd "$(dirname "$0")/.."

kind=shared
if [ "${1:-}" = "--static" ]; then
  kind=static
  shift
fi
if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: scripts/c-install.sh [--static] PREFIX" >&2
  exit 2
fi
mkdir -p "$1"
prefix=$(cd "$1" && pwd)

# `cargo pkgid` ends in "#pouw-netops-c@X.Y.Z" (or "#X.Y.Z").
version=$(cargo pkgid --locked -p pouw-netops-c)
version=${version##*[@#]}
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || { echo "error: cannot read the version of pouw-netops-c" >&2; exit 1; }
major=${version%%.*}
minor=${version#*.}
minor=${minor%%.*}
if [ "$major" = 0 ]; then abi="0.$minor"; else abi="$major"; fi
soname="libpouw_netops.so.$abi"

# One build gives both library kinds; the SONAME goes on the shared one only
# (the static archive is not linked), and rustc prints the system libraries
# a static link needs.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo rustc --locked --release -p pouw-netops-c --lib -- \
  -C "link-arg=-Wl,-soname,$soname" --print native-static-libs 2>&1 | tee "$log" >&2
native=$(sed -n 's/.*native-static-libs: //p' "$log" | tail -n 1)
[ -n "$native" ] || { echo "error: rustc printed no native-static-libs" >&2; exit 1; }

out="${CARGO_TARGET_DIR:-target}/release"
install -d "$prefix/include" "$prefix/lib/pkgconfig"
install -m 644 include/pouw_netops.h include/pouw_netops_operator.h "$prefix/include/"
if [ "$kind" = shared ]; then
  install -m 755 "$out/libpouw_netops_c.so" "$prefix/lib/libpouw_netops.so.$version"
  ln -sfn "libpouw_netops.so.$version" "$prefix/lib/$soname"
  ln -sfn "$soname" "$prefix/lib/libpouw_netops.so"
else
  install -m 644 "$out/libpouw_netops_c.a" "$prefix/lib/libpouw_netops.a"
fi
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" -e "s|@NATIVE_STATIC_LIBS@|$native|" \
  ffi-c/pouw_netops.pc.in >"$prefix/lib/pkgconfig/pouw_netops.pc"
echo "installed pouw_netops $version ($kind) into $prefix"
