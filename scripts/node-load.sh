#!/usr/bin/env bash
# CPU and RSS of one pouw-netops-node supervisor with WORKERS real workers
# heartbeating at 1 Hz (node/examples/loadgen.rs), on 127.0.0.1. Release build.
#
#   scripts/node-load.sh [WORKERS=1000] [SECONDS=90] [WARMUP=30]
#
# Prints the node's CPU use (utime + stime from /proc over the measured
# window, after the warm-up), its RSS at the end, and the load average.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS=${1:-1000}
SECONDS_TOTAL=${2:-90}
WARMUP=${3:-30}
cargo build --release --locked -p pouw-netops-node --bin pouw-netops-node --example loadgen
BIN=target/release/pouw-netops-node
LOADGEN=target/release/examples/loadgen
DIR=$(mktemp -d)
trap 'kill "${NODE_PID:-}" "${GEN_PID:-}" 2>/dev/null || true; rm -rf "$DIR"' EXIT
"$BIN" authority init --dir "$DIR/auth" >/dev/null
"$BIN" keygen --out "$DIR/sup-0.key" >/dev/null
cat >"$DIR/nodes.toml" <<TOML
[[node]]
id = "sup-0"
role = "supervisor"
public_key = "sup-0.key.pub"
TOML
"$BIN" authority issue --key "$DIR/auth/authority.key" --nodes "$DIR/nodes.toml" --out "$DIR/certs" >/dev/null
cat >"$DIR/sup-0.toml" <<TOML
id = "sup-0"
role = "supervisor"
listen = "127.0.0.1:47000"
http = "127.0.0.1:47100"
key = "sup-0.key"
certificate = "certs/sup-0.cert"
authority = "auth/authority.pub"
data_dir = "data"
log_level = "warn"

[[supervisors]]
id = "sup-0"
address = "127.0.0.1:47000"
TOML
rcvbuf_errors() { awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else print $c }' /proc/net/snmp; }
E0=$(rcvbuf_errors)
"$BIN" run --config "$DIR/sup-0.toml" &
NODE_PID=$!
sleep 1
"$LOADGEN" "$DIR/auth/authority.key" sup-0 127.0.0.1:47000 "$WORKERS" "$SECONDS_TOTAL" &
GEN_PID=$!
ticks() { awk '{print $14 + $15}' "/proc/$NODE_PID/stat"; }
HZ=$(getconf CLK_TCK)
sleep "$WARMUP"
t0=$(ticks)
s0=$(date +%s.%N)
sleep $((SECONDS_TOTAL - WARMUP - 5))
t1=$(ticks)
s1=$(date +%s.%N)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$NODE_PID/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$NODE_PID/status")
online=$(curl -s http://127.0.0.1:47100/metrics 2>/dev/null | awk '/^pn_peers\{status="online"\}/ {print $2}' || true)
[ -n "$online" ] || online=$("$BIN" status --http 127.0.0.1:47100 | python3 -c 'import json,sys; print(json.load(sys.stdin)["peers"]["online"])')
echo "workers=$WORKERS online_at_node=$online"
curl -s http://127.0.0.1:47100/metrics | grep -E '^pn_(peers|members|auth_failures_total|queue_drops_total|messages_total)' | grep -v ' 0$' || true
awk -v a="$t0" -v b="$t1" -v s="$s0" -v e="$s1" -v hz="$HZ" 'BEGIN { printf "node CPU: %.1f %% of one core over %.0f s\n", 100 * (b - a) / hz / (e - s), e - s }'
echo "node RSS: $((rss / 1024)) MiB (peak $((hwm / 1024)) MiB)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "UDP receive-buffer drops on this host during the run: $(($(rcvbuf_errors) - E0))"
wait "$GEN_PID"
"$BIN" leave --http 127.0.0.1:47100 >/dev/null
wait "$NODE_PID"
