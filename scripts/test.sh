#!/usr/bin/env bash
# The one test command (README contract): sets up what it needs on a fresh
# machine, then runs every check. Exits non-zero on the first failure.
#
#   scripts/test.sh            everything
#   SKIP_SETUP=1 scripts/test.sh   skip toolchain installation (already done)
set -euo pipefail
cd "$(dirname "$0")/.."

EMBEDDED_TARGET=thumbv7em-none-eabihf
started=$(date +%s)

stage() {
  local name=$1
  shift
  printf '\n==> %s\n' "$name"
  local t0
  t0=$(date +%s)
  "$@"
  printf '<== %s ok (%ss)\n' "$name" "$(($(date +%s) - t0))"
}

setup_rust() {
  command -v cargo >/dev/null || { echo "error: cargo not found; install Rust with rustup" >&2; exit 1; }
  for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
      rustup component add "$component"
    fi
  done
  if ! rustup target list --installed | grep -qx "$EMBEDDED_TARGET"; then
    rustup target add "$EMBEDDED_TARGET" || {
      echo "error: cannot install the Rust target $EMBEDDED_TARGET (rustup target add failed);" \
        "the no_std build of the core needs it" >&2
      exit 1
    }
  fi
}

check_format() { cargo fmt --all -- --check; }
check_clippy() { cargo clippy --workspace --all-targets --locked -- -D warnings; }
run_tests() { cargo test --workspace --locked; }

build_embedded() {
  cargo build --locked -p pouw-netops --target "$EMBEDDED_TARGET" --no-default-features
  cargo build --locked -p pouw-netops --target "$EMBEDDED_TARGET" --no-default-features --features alloc
}

# Code size of the firmware probe; the crash-recovery budget is 48 KiB of .text.
size_probe() { bash scripts/size-probe.sh --max-text 49152; }

if [ -z "${SKIP_SETUP:-}" ]; then
  stage "set up Rust toolchain" setup_rust
fi
stage "rustfmt" check_format
stage "clippy" check_clippy
stage "cargo test" run_tests
stage "no_std build for $EMBEDDED_TARGET (with and without alloc)" build_embedded
stage "code size on $EMBEDDED_TARGET" size_probe

printf '\nall checks passed in %ss\n' "$(($(date +%s) - started))"
