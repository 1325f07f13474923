#!/usr/bin/env bash
# Runs each named fuzz target until its fuzzer has used CPU_SECONDS (default one hour) of CPU
# time, not wall time, one target after another at the lowest priority, so it can share the
# machine with builds; then interrupts it, and libFuzzer prints its final stats. Build first with
# `cargo +nightly fuzz build -O`. Logs and CPU seconds go to target/cpu-hours/; new inputs go to
# corpus/<target>/ (minimise them with `cargo +nightly fuzz cmin -O <target>` before committing).
#
#   fuzz/cpu-hours.sh backup bundle
set -u
cd "$(dirname "$0")"
CPU_SECONDS=${CPU_SECONDS:-3600}
BIN=target/x86_64-unknown-linux-gnu/release
LOGS=target/cpu-hours
mkdir -p "$LOGS"
tick=$(getconf CLK_TCK)
for target in "$@"; do
  mkdir -p "artifacts/$target"
  log="$LOGS/$target.log"
  # Its own session, so its own autogroup: with autogroups on, nice only ranks processes within
  # one, so the autogroup is lowered too (the caller's session keeps its priority).
  setsid nice -n 19 "$BIN/$target" "corpus/$target" -artifact_prefix="artifacts/$target/" \
    -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 -max_total_time=1000000 >"$log" 2>&1 &
  pid=$!
  sleep 1
  echo 19 >"/proc/$pid/autogroup" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    sleep 20
    read -r user system < <(awk '{print $14, $15}' "/proc/$pid/stat" 2>/dev/null || echo "0 0")
    cpu=$(((user + system) / tick))
    [ "$cpu" -gt 0 ] && echo "$cpu" >"$LOGS/$target.cpu"
    if [ "$cpu" -ge "$CPU_SECONDS" ]; then kill -INT "$pid"; fi
  done
  wait "$pid"
  echo "$target: exit $?, $(cat "$LOGS/$target.cpu") CPU seconds" | tee -a "$log"
done
