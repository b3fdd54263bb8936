#!/usr/bin/env bash
# The one test command (README contract): sets up what it needs on a fresh
# machine, then runs every check. Exits non-zero on the first failure.
#
#   scripts/test.sh            everything
#   SKIP_SETUP=1 scripts/test.sh   skip toolchain installation (already done)
#
# After the set-up, the checks run in two lanes at once, each stage after the
# other within its lane: the workspace lane (formatting, clippy, the tests, the
# docs, the heap budget, the C tests) in the foreground, and the release lane
# (the simulator's sweeps, the Cortex-M4 builds and their sizes, the Python
# wheel and its tests) in the background, in its own target directory (target/release-lane)
# so the two never wait for each other's cargo lock. Much of each lane leaves a
# core idle (linking, single-unit release codegen, test binaries run one after
# another, valgrind, QEMU, pytest), which the other lane fills. The release
# lane's output is printed, whole, when it ends; a failure in either lane
# stops both and fails the run.
#
#   scripts/test.sh --lane workspace|release   one lane alone (no set-up)
set -euo pipefail
cd "$(dirname "$0")/.."

EMBEDDED_TARGET=thumbv7em-none-eabihf
# The header generator is pinned: a different version may format the header differently.
CBINDGEN_VERSION=0.29.2
C_FLAGS=(-std=c99 -Wall -Wextra -Wpedantic -Werror)

PYTHON=${PYTHON:-python3}
# Pinned so every machine builds and tests the Python package the same way.
MATURIN_VERSION=1.16.0
PYTEST_VERSION=9.2.0
MYPY_VERSION=1.18.2
HYPOTHESIS_VERSION=6.170.17
started=$(date +%s)

stage() { lane_stage "$@"; }
lane_stage() {
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
# Users cannot see our tracker: code and docs name what a change is about, not
# a tracker number (the word issue followed by a number).
check_no_tracker_numbers() {
  local hits
  hits=$(grep -rnIE '[Ii]ssues? #?[0-9]+' --exclude-dir=.git --exclude-dir=target --exclude-dir=.venv \
    --exclude-dir=corpus --exclude-dir=node_modules . || true)
  if [ -n "$hits" ]; then
    echo "$hits" >&2
    echo "error: tracker issue numbers in code or docs (above); name the work instead" >&2
    return 1
  fi
}
check_clippy() { cargo clippy --workspace --all-targets --locked -- -D warnings; }
run_tests() { cargo test --workspace --locked; }
# The API docs build without a warning (broken intra-doc links fail here).
build_docs() { RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked; }

build_embedded() {
  cargo build --locked -p pouw-netops --target "$EMBEDDED_TARGET" --no-default-features
  cargo build --locked -p pouw-netops --target "$EMBEDDED_TARGET" --no-default-features --features alloc
}

# The simulator: a sweep of 1000 seeds of the default story on a small cluster
# (3 supervisors, 8 workers, 90 virtual seconds each), every invariant checked
# after every step, then one seed run twice must give the same trace hash.
sim_sweep() {
  cargo build --release --locked -p pouw-netops-sim
  local bin="${CARGO_TARGET_DIR:-target}/release/pouw-netops-sim"
  "$bin" --seeds 0..1000 --supervisors 3 --workers 8 --duration 90
  local a b
  a=$("$bin" --seed 42 --json | sed 's/"wall_secs":[0-9.]*,//')
  b=$("$bin" --seed 42 --json | sed 's/"wall_secs":[0-9.]*,//')
  if [ "$a" != "$b" ]; then
    echo "error: seed 42 replayed differently" >&2
    return 1
  fi
  echo "determinism: seed 42 replayed with trace hash $(echo "$a" | sed 's/.*"trace_hash":"\([0-9a-f]*\)".*/\1/')"
}

# The Byzantine election: 1000 seeds with one lying supervisor of
# four (f = 1), never two certified leaders in one term, a leader after the
# faults stop (about 10 s of CPU; exits non-zero on a violation).
byzantine_sweep() {
  cargo run --release --locked -p pouw-netops-harness --example election_byzantine -- \
    --seeds 0..1000 --voters 4 --liars 1 --f 1
  # The same fault model in the full node cluster (certificates at the gate,
  # workers checking leaders), one lying supervisor of four: 100 seeds here,
  # the 1000-seed sweep in BENCHMARKS.md takes about 12 minutes.
  "${CARGO_TARGET_DIR:-target}/release/pouw-netops-sim" --byzantine 1 --supervisors 4 --workers 8 \
    --duration 90 --seeds 0..100
}

# Installs the C firmware example's tools when missing (CI runs as root), even
# with SKIP_SETUP: a cross compiler, newlib with semihosting, QEMU's Cortex-M
# boards (scripts/firmware.sh).
setup_firmware_tools() {
  local missing=()
  command -v arm-none-eabi-gcc >/dev/null || missing+=(gcc-arm-none-eabi)
  [ -f /usr/lib/arm-none-eabi/lib/librdimon.a ] || missing+=(libnewlib-arm-none-eabi)
  command -v qemu-system-arm >/dev/null || missing+=(qemu-system-arm)
  if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install --no-install-recommends -y "${missing[@]}" ||
      { apt-get update && apt-get install --no-install-recommends -y "${missing[@]}"; }
  fi
}

# Code size of the firmware probe (four builds; the crash-recovery budget is
# 48 KiB of .text), the embedded worker example, then the C library's.
size_probe() {
  await_tools
  bash scripts/size-probe.sh --max-text 49152 --no-heap
  # The embedded worker example's node loop, run on the host (the core alone,
  # with its own features: nothing to share with the workspace lane's build).
  cargo run --quiet --locked -p pouw-netops --example embedded_worker
  # The no_std C library (feature `embedded`): built for the target and
  # size-checked (node loop .text at most 264 KiB), the C firmware example
  # linked against it and run under QEMU (mps2-an386), then the C node loop
  # against its host build.
  bash scripts/c-embedded.sh --max-text 270336
}

# Installs the C stage's tools when missing (CI runs as root), even with SKIP_SETUP:
# they are cheap to check and the stage cannot run without them.
setup_c_tools() {
  if ! cbindgen --version 2>/dev/null | grep -qx "cbindgen $CBINDGEN_VERSION"; then
    cargo install --locked cbindgen --version "$CBINDGEN_VERSION"
  fi
  local missing=()
  command -v valgrind >/dev/null || missing+=(valgrind)
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  command -v readelf >/dev/null || missing+=(binutils)
  if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y "${missing[@]}" || { apt-get update && apt-get install -y "${missing[@]}"; }
  fi
}

# Regenerates $1 with the cbindgen command in $2... and fails if the committed file differs.
check_header() {
  local header=$1 fresh=$2
  shift 2
  cbindgen -q "$@" --output "$fresh"
  if ! diff -u "$header" "$fresh"; then
    echo "error: $header is stale; regenerate it with" >&2
    echo "  cbindgen $* --output $header" >&2
    return 1
  fi
}

# Runs a C test program ("$@") and checks its closing line: "NAME: N passed, 0
# failed" with N > 0, so a program that stopped early or checked nothing fails.
run_c_test() {
  local name=$1 out status=0
  shift
  out=$("$@") || status=$?
  printf '%s\n' "$out"
  [ "$status" -eq 0 ] || return "$status"
  if ! printf '%s\n' "$out" | tail -n 1 | grep -Eq "^$name: [1-9][0-9]* passed, 0 failed\$"; then
    echo "error: $name ended without a closing line of passed checks" >&2
    return 1
  fi
}

# The C ABI: the committed headers are fresh, and every tests/c program compiles
# warning-free against them and passes under valgrind and AddressSanitizer; two
# also compile as C++. The tests use a library built with the `panic-probe`
# feature. Then the install: the library, header and pkg-config file go into
# temporary prefixes and programs link against them with pkg-config,
# dynamically and statically.
# Runs each named C test under valgrind and its AddressSanitizer build, two
# runs at a time, then prints every run's output in order; fails if any run
# failed (or ended without its closing line of passed checks).
c_run_in_pairs() {
  local tmp=$1 i=0 j failed=0 name
  shift
  for name in "$@"; do
    for mode in valgrind asan; do
      rm -f "$tmp/run$i.ok"
      (
        if [ "$mode" = valgrind ]; then
          run_c_test "$name" valgrind -q --error-exitcode=1 --leak-check=full "$tmp/$name" && echo ok >"$tmp/run$i.ok"
        else
          ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 run_c_test "$name" "$tmp/$name-asan" && echo ok >"$tmp/run$i.ok"
        fi
      ) >"$tmp/run$i.log" 2>&1 &
      i=$((i + 1))
      while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n || true; done
    done
  done
  wait || true
  for ((j = 0; j < i; j++)); do
    cat "$tmp/run$j.log"
    [ -f "$tmp/run$j.ok" ] || failed=1
  done
  if [ "$failed" -ne 0 ]; then
    echo "error: a C test run failed (its output is above)" >&2
    return 1
  fi
}

c_tests() {
  await_tools
  local tmp lib runs=0
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"; trap - RETURN' RETURN
  check_header include/pouw_netops.h "$tmp/pouw_netops.h" \
    --config ffi-c/cbindgen.toml --crate pouw-netops-c ffi-c
  check_header include/pouw_netops_operator.h "$tmp/pouw_netops_operator.h" \
    --config ffi-c/cbindgen-operator.toml ffi-c/src/operator/mod.rs
  # The binding's Rust tests and lints with the test-only panic probe (the
  # workspace stages build it without).
  cargo clippy --locked -p pouw-netops-c --all-targets --features panic-probe -- -D warnings
  cargo test --locked -p pouw-netops-c --features panic-probe
  cargo build --locked -p pouw-netops-c --features panic-probe
  lib="${CARGO_TARGET_DIR:-target}/debug/libpouw_netops_c.a"
  local link=("$lib" -lpthread -ldl -lm)
  export RUST_BACKTRACE=0
  # Every test is built twice (plain for valgrind, and with AddressSanitizer),
  # then the runs go two at a time: valgrind is single-threaded.
  local names=()
  for src in tests/c/*.c; do
    local name
    name=$(basename "$src" .c)
    gcc "${C_FLAGS[@]}" -g -Iinclude "$src" "${link[@]}" -o "$tmp/$name"
    gcc "${C_FLAGS[@]}" -g -fsanitize=address -fno-omit-frame-pointer -Iinclude "$src" "${link[@]}" -o "$tmp/$name-asan"
    names+=("$name")
  done
  c_run_in_pairs "$tmp" "${names[@]}"
  runs=$((runs + 2 * ${#names[@]}))
  # C++: the default and operator headers (test_phi.c) and a node (test_ops_cluster.c).
  for name in test_phi test_ops_cluster; do
    g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -g -Iinclude -x c++ "tests/c/$name.c" -x none "${link[@]}" \
      -o "$tmp/${name}_cpp"
    run_c_test "$name" "$tmp/${name}_cpp"
    runs=$((runs + 1))
  done
  c_install_tests "$tmp"
  runs=$((runs + 2))
  echo "c-tests: $runs passed, 0 failed"
}

# scripts/c-install.sh into two prefixes (shared and static: see that script),
# then tests/c/test_default_api.c built with pkg-config against each.
c_install_tests() {
  local tmp=$1 soname
  bash scripts/c-install.sh "$tmp/shared"
  bash scripts/c-install.sh --static "$tmp/static"
  # The shared library names its ABI, and the SONAME link exists.
  soname=$(readelf -d "$tmp"/shared/lib/libpouw_netops.so.*.*.* | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
  if [[ ! "$soname" =~ ^libpouw_netops\.so\.[0-9.]+$ ]] || [ ! -L "$tmp/shared/lib/$soname" ]; then
    echo "error: the shared library has no proper SONAME (got '$soname')" >&2
    return 1
  fi
  # Dynamic: pkg-config --cflags --libs; the program needs the .so by its SONAME.
  # shellcheck disable=SC2046 # pkg-config output is a list of flags
  gcc "${C_FLAGS[@]}" tests/c/test_default_api.c \
    $(PKG_CONFIG_PATH="$tmp/shared/lib/pkgconfig" pkg-config --cflags --libs pouw_netops) -o "$tmp/pc-dynamic"
  if ! readelf -d "$tmp/pc-dynamic" | grep -qF "Shared library: [$soname]"; then
    echo "error: the pkg-config dynamic build does not need $soname" >&2
    return 1
  fi
  LD_LIBRARY_PATH="$tmp/shared/lib" run_c_test test_default_api "$tmp/pc-dynamic"
  # Static: pkg-config --static; the archive is linked in, no libpouw_netops needed.
  # shellcheck disable=SC2046
  gcc "${C_FLAGS[@]}" tests/c/test_default_api.c \
    $(PKG_CONFIG_PATH="$tmp/static/lib/pkgconfig" pkg-config --static --cflags --libs pouw_netops) -o "$tmp/pc-static"
  if readelf -d "$tmp/pc-static" | grep -q "libpouw_netops"; then
    echo "error: the pkg-config static build needs a shared libpouw_netops" >&2
    return 1
  fi
  run_c_test test_default_api "$tmp/pc-static"
}

# Builds the wheel of ffi-python, installs it into a fresh virtual environment
# (.venv, git-ignored) and runs the pytest suite against the installed package.
python_tests() {
  command -v "$PYTHON" >/dev/null || { echo "error: $PYTHON not found; the Python tests need python3 with venv and pip" >&2; exit 1; }
  rm -rf .venv target/python-wheels
  "$PYTHON" -m venv .venv || { echo "error: '$PYTHON -m venv' failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
  .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    "maturin==$MATURIN_VERSION" "pytest==$PYTEST_VERSION" "mypy==$MYPY_VERSION" "hypothesis==$HYPOTHESIS_VERSION"
  # The test wheel carries the test-only panic probe; a user's `pip install ./ffi-python` does not.
  .venv/bin/maturin build --profile wheel --locked -m ffi-python/Cargo.toml -i .venv/bin/python --features panic-probe \
    --out target/python-wheels
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps target/python-wheels/pouw_netops-*.whl
  # The stubs must match the native module, and the package must type-check with them.
  .venv/bin/python -m mypy.stubtest pouw_netops._native
  .venv/bin/python -m mypy --strict --no-incremental -p pouw_netops
  # The examples are what users copy: they type-check strictly too.
  .venv/bin/python -m mypy --strict --no-incremental examples/python
  .venv/bin/python -m pytest tests/python -q -p no:cacheprovider
}

# The worker node's heap budget (64 KiB steady, 96 KiB peak; the test fails
# above either) with its figures, from the test stage's build.
worker_heap() {
  local out
  # `--workspace`, as the test stage built it: no rebuild of the core with
  # the harness's features alone.
  if ! out=$(cargo test --quiet --locked --workspace --test ram_budget -- --nocapture --test-threads 1 2>&1); then
    echo "$out" | tail -30 >&2
    echo "error: the heap budget test failed" >&2
    return 1
  fi
  echo "heap high-water marks (host, 64-bit):"
  echo "$out" | grep -o 'small .* B$' | sed 's/^/  /'
}

workspace_lane() {
  stage "rustfmt" check_format
  stage "no tracker issue numbers in code or docs" check_no_tracker_numbers
  stage "clippy" check_clippy
  stage "cargo test" run_tests
  stage "cargo doc (warnings are errors)" build_docs
  stage "worker heap budget" worker_heap
  stage "C ABI: header fresh, C tests under valgrind and AddressSanitizer, C++ use" c_tests
}

release_lane() {
  export CARGO_TARGET_DIR="${RELEASE_LANE_TARGET_DIR:-target/release-lane}"
  stage "simulator: 1000-seed sweep and determinism (release)" sim_sweep
  stage "Byzantine election: 1000-seed sweep, then 100 node-cluster seeds, one liar of four (release)" byzantine_sweep
  stage "no_std build for $EMBEDDED_TARGET (with and without alloc)" build_embedded
  stage "code size on $EMBEDDED_TARGET, embedded worker example, embedded C library and firmware" size_probe
  stage "Python package: wheel into a fresh .venv, pytest tests/python" python_tests
}

setup_tools() {
  setup_c_tools
  setup_firmware_tools
}

# The system tools are installed in the background while the first stages
# run (mostly downloads and cbindgen's build); the stages that need them wait
# here, and print the installer's output. A lane run alone installs them itself.
await_tools() {
  if [ -z "${TEST_TOOLS_STATUS:-}" ]; then
    setup_tools
    return
  fi
  while [ ! -f "$TEST_TOOLS_STATUS" ]; do sleep 1; done
  if [ "$(cat "$TEST_TOOLS_STATUS")" != 0 ]; then
    cat "$TEST_TOOLS_LOG"
    echo "error: installing the C and firmware tools failed (above)" >&2
    return 1
  fi
}

case "${1:-}" in
  --lane)
    case "${2:-}" in
      workspace) workspace_lane ;;
      release) release_lane ;;
      *) echo "usage: scripts/test.sh [--lane workspace|release]" >&2; exit 2 ;;
    esac
    printf '\nlane %s passed in %ss\n' "$2" "$(($(date +%s) - started))"
    exit 0
    ;;
  --tools)
    setup_tools
    exit 0
    ;;
  "") ;;
  *) echo "usage: scripts/test.sh [--lane workspace|release]" >&2; exit 2 ;;
esac

if [ -z "${SKIP_SETUP:-}" ]; then
  stage "set up Rust toolchain" setup_rust
fi
# The lanes' system tools, even with SKIP_SETUP (cheap to check), one
# installer for both lanes, in the background (see await_tools).
TEST_TOOLS_LOG=$(mktemp)
TEST_TOOLS_STATUS=$(mktemp)
rm -f "$TEST_TOOLS_STATUS"
export TEST_TOOLS_LOG TEST_TOOLS_STATUS
{ bash scripts/test.sh --tools && echo 0 >"$TEST_TOOLS_STATUS" || echo 1 >"$TEST_TOOLS_STATUS"; } >"$TEST_TOOLS_LOG" 2>&1 &

# The release lane in its own session (so a failure here can stop all of it),
# its output kept for the end; its exit status lands in $release_status.
release_log=$(mktemp)
release_status=$(mktemp)
release_group=$(mktemp)
rm -f "$release_status"
# shellcheck disable=SC2016 # expanded by the inner shell
setsid bash -c 'echo $$ >"$2"; bash scripts/test.sh --lane release; echo $? >"$1"' _ "$release_status" "$release_group" \
  >"$release_log" 2>&1 &
release_pid=$!
show_release() {
  printf '\n==> release lane output\n'
  cat "$release_log"
}
stop_release() {
  local group
  group=$(cat "$release_group" 2>/dev/null || true)
  [ -z "$group" ] || kill -- -"$group" 2>/dev/null || true
  wait "$release_pid" 2>/dev/null || true
}
# The release lane's exit status, once it ended ("" before).
release_result() { cat "$release_status" 2>/dev/null || true; }
# The release lane failing stops the run at the next workspace stage.
release_failed() {
  local r
  r=$(release_result)
  [ -n "$r" ] && [ "$r" != 0 ]
}
on_exit() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    stop_release
    show_release
    echo "error: the run failed (output above)" >&2
  fi
  rm -f "$release_log" "$release_status" "$release_group" "$TEST_TOOLS_LOG" "$TEST_TOOLS_STATUS"
  exit "$status"
}
trap on_exit EXIT
stage() {
  if release_failed; then
    echo "error: the release lane failed" >&2
    return 1
  fi
  lane_stage "$@"
}

workspace_lane
printf '\nworkspace lane passed in %ss; waiting for the release lane\n' "$(($(date +%s) - started))"
wait "$release_pid" || true
if [ "$(release_result)" != 0 ]; then
  exit 1
fi
show_release

printf '\nall checks passed in %ss\n' "$(($(date +%s) - started))"
